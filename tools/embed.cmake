# Turns a text file into a C++ header holding it as a raw string literal.
file(READ ${IN} content)
string(FIND "${content}" ")vpcedns\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )vpcedns\"")
endif()
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#pragma once\n"
  "namespace vpcedns::config::generated {\n"
  "inline constexpr const char default_config[] = R\"vpcedns(${content})vpcedns\";\n}\n")
