# Warnings for Rampart's own targets (not for third-party headers, which come in as SYSTEM).
function(rampart_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()
