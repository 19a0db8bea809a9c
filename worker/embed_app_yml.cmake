# Why: app.yml is compiled into the worker, so `register` and `doctor` know the App's manifest
# even when run from a folder (or an image) without the file. Usage:
#   cmake -DIN=app.yml -DOUT=file.c -P embed_app_yml.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," arr "${hex}")
file(WRITE ${OUT}.tmp "/* Why: generated from app.yml by worker/embed_app_yml.cmake; do not edit. */
#include <stddef.h>
static const unsigned char yml[] = {${arr}0x00};
const char *const wk_app_yml_embedded = (const char *)yml;
const size_t wk_app_yml_embedded_len = sizeof yml - 1;
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
