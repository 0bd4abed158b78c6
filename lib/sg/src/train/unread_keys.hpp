#pragma once
// A composed recipe's keys that nothing read are refused (train/unread_keys.cpp lists the
// ones accepted knowingly without effect).
#include "recipe/recipe.hpp"

namespace sg {

void refuse_unread_keys(const Recipe& recipe);

}  // namespace sg
