# bash completion of the sg-checkpoint-toolkit programs: their flags (read from --help),
# recipe names after --config-name and recipe keys as `key=` words (both from the sg-train
# beside the program: --list-recipes, --list-keys), folders after the folder options.

# The words of the line before the cursor, split at blanks only: bash's own words are also
# split at '=' and ':', which are inside override words.
_sg_toolkit_words() {
  read -r -a _sg_words <<<"${COMP_LINE:0:COMP_POINT}"
  [[ ${COMP_LINE:COMP_POINT-1:1} == [[:blank:]] || $COMP_POINT -eq 0 ]] && _sg_words+=("")
}

# The recipe options given on the line (--config-name N, --config-dir D), to pass on.
_sg_toolkit_recipe_args() {
  local i
  for ((i = 1; i < ${#_sg_words[@]} - 1; i++)); do
    case ${_sg_words[i]} in
      --config-name | --config-dir) printf '%s\n%s\n' "${_sg_words[i]}" "${_sg_words[i + 1]}" ;;
    esac
  done
}

_sg_toolkit() {
  local program=${COMP_WORDS[0]} train=sg-train
  [[ $program == */* ]] && train=${program%/*}/sg-train
  local _sg_words
  _sg_toolkit_words
  local word=${_sg_words[-1]} previous=${_sg_words[-2]:-}
  local -a candidates=() recipe_args=()
  mapfile -t recipe_args < <(_sg_toolkit_recipe_args)
  case $previous in
    --config-name)
      mapfile -t candidates < <("$train" --list-recipes "${recipe_args[@]}" 2>/dev/null) ;;
    --config-dir | --ckpt-root-dir | --zoo)
      mapfile -t COMPREPLY < <(compgen -d -- "$word")
      return ;;
  esac
  if ((${#candidates[@]} == 0)); then
    if [[ $word == -* ]]; then
      mapfile -t candidates < <("$program" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    elif [[ ${program##*/} =~ ^sg-(train|eval|resume)$ && $previous != --* ]]; then
      mapfile -t candidates < <("$train" --list-keys "${recipe_args[@]}" 2>/dev/null | sed 's/=.*/=/')
      compopt -o nospace 2>/dev/null
    fi
  fi
  # bash replaces only its own last word (what follows the last '=' or ':'): drop the rest.
  local cut=$((${#word} - ${#COMP_WORDS[COMP_CWORD]}))
  [[ $word == *"${COMP_WORDS[COMP_CWORD]}" ]] || cut=0
  COMPREPLY=()
  local candidate
  for candidate in "${candidates[@]}"; do
    [[ $candidate == "$word"* ]] && COMPREPLY+=("${candidate:cut}")
  done
}

complete -o default -F _sg_toolkit sg-train sg-resume sg-eval sg-ckpt-inspect sg-ckpt-adapt sg-model-template
