#pragma once
// sg-ckpt-adapt --model: finding sg-model-template and running it for pth::adapt().
#include "pth/adapt.hpp"

namespace sg_ckpt_adapt {

// Runs sg-model-template ARCH NUM_CLASSES OUT (its stdout to our stderr) and waits for it,
// throwing pth::AdaptError naming the program when it cannot run or fails. The program is
// $SG_MODEL_TEMPLATE, else next to this program, else in the build tree's sibling folder
// (tools/sg-model-template/). Empty when there is none (not built).
pth::MakeModelTemplate model_template_maker();

}  // namespace sg_ckpt_adapt
