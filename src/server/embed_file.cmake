# Writes OUT: a C++ source defining NAME() that returns the contents of IN.
file(READ "${IN}" content)
file(WRITE "${OUT}" "// Generated from ${IN}.\nnamespace clipdex::server {\nconst char* ${NAME}() {\n  return R\"CLIPDEX_EMBED(${content})CLIPDEX_EMBED\";\n}\n}  // namespace clipdex::server\n")
