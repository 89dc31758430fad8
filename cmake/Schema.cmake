# rampart_embed_schema(OUT): defines the build step that embeds the API schema's data files
# (src/api/schema/*.json) into a generated C++ source (see cmake/EmbedText.cmake) and sets OUT
# to that source's path. Used by src/ and by the fuzz build.
function(rampart_embed_schema out)
  set(dir ${PROJECT_SOURCE_DIR}/src/api/schema)
  set(files ${dir}/meta.json ${dir}/pod.json ${dir}/other.json ${dir}/rampart.json)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/api/schema_data.cc)
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${generated} "-DINPUTS=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedText.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/EmbedText.cmake
    COMMENT "Embedding the API schema" VERBATIM)
  set(${out} ${generated} PARENT_SCOPE)
endfunction()
