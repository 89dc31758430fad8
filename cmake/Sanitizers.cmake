# ASan + UBSan at -O0: -O1 with UBSan triples compile time on coroutine code (see the library notes).
if(RAMPART_SANITIZE)
  add_compile_options(-O0 -g -fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
