#!/usr/bin/env bash
# clang-format over the project's C and C++ (src/ and fuzz/; never deps/):
#
#   bash scripts/format.sh           rewrites the files     (npm run format)
#   bash scripts/format.sh --check   fails if any would change (npm run format:check, CI)
#
# The style (.clang-format, src/node/.clang-format) is tuned for clang-format
# 14, and other versions lay some lines out differently, so this runs
# clang-format-14 (scripts/setup.sh installs it); CLANG_FORMAT names another.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "format: $clang_format not found (npm run setup installs it)" >&2
  exit 2
fi

mapfile -d '' files < <(find src fuzz -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) -print0 | sort -z)

case "${1:-}" in
  --check)
    if ! "$clang_format" --dry-run --Werror "${files[@]}"; then
      echo "format: the files above are not clang-formatted: run npm run format" >&2
      exit 1
    fi
    echo "format: ${#files[@]} C/C++ files are clang-formatted"
    ;;
  '')
    "$clang_format" -i "${files[@]}"
    ;;
  *)
    echo "usage: bash scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac
