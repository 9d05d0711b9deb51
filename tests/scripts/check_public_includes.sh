#!/usr/bin/env bash
# The CLI and the server are the public API's first users: they include only include/clipdex/
# headers and their own folder's (the CLI also the server's interface, server/server.h), and
# link only the api target. Usage: check_public_includes.sh SOURCE_DIR
set -euo pipefail
src="$1/src"
bad=0
check() {  # FOLDER ALLOWED_PREFIX_REGEX
  local folder="$1" allowed="$2" file line header
  while IFS= read -r file; do
    while IFS= read -r line; do
      header="${line#*\"}"
      header="${header%%\"*}"
      if ! [[ "$header" =~ $allowed ]]; then
        echo "src/${file#"$src/"}: includes \"$header\", an internal header (use include/clipdex/ instead)"
        bad=1
      fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
  done < <(find "$src/$folder" -name '*.cpp' -o -name '*.h')
}
check cli '^(clipdex/|cli/|server/server\.h$)'
check server '^(clipdex/|server/)'

# Their targets link the public API, nothing below it.
links() { grep -A3 "target_link_libraries($1" "$src/$2/CMakeLists.txt" | tr -s ' \n' ' '; }
for component in core text image kernels model index store pipeline search eval; do
  for pair in "clipdex_cli cli" "clipdex_server server"; do
    set -- $pair
    if [[ "$(links "$1" "$2")" =~ clipdex_${component}[[:space:]\)] ]]; then
      echo "$1 links clipdex_${component} directly (link clipdex_api)"
      bad=1
    fi
  done
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "cli and server use only the public API"
