/* Runs a .mote model through the C API: loads it from a buffer, binds an arena, fills each input
 * from a raw file (or with a fixed pattern), invokes, and writes each output's bytes to
 * OUT_DIR/output_<i>.bin.
 *
 *   cc run_model.c -I../include ../../../target/release/libmote.a -lm -lpthread -ldl -o run_model
 *   ./run_model model.mote OUT_DIR [input_0.bin ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mote.h"

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* The model is used in place: it must start at a MOTE_ARENA_ALIGN-aligned address. */
  size_t cap = ((size_t)n + MOTE_ARENA_ALIGN - 1) / MOTE_ARENA_ALIGN * MOTE_ARENA_ALIGN;
  void *buf = aligned_alloc(MOTE_ARENA_ALIGN, cap ? cap : MOTE_ARENA_ALIGN);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static const char *dtype_name(uint32_t d) {
  switch (d) {
    case 1: return "f32"; case 2: return "u8"; case 3: return "i8"; case 6: return "i32";
    case 7: return "i64"; case 9: return "bool"; default: return "other";
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s model.mote OUT_DIR [input_0.bin ...]\n", argv[0]);
    return 2;
  }
  size_t len = 0;
  void *bytes = read_file(argv[1], &len);
  if (!bytes) { fprintf(stderr, "cannot read %s\n", argv[1]); return 1; }
  char err[512];
  MoteModel *m = NULL;
  MoteStatus s = mote_model_load(bytes, len, &m, err, sizeof err);
  if (s != MOTE_STATUS_OK) { fprintf(stderr, "load: %s: %s\n", mote_status_string(s), err); return 1; }

  size_t arena_len = mote_model_arena_size(m);
  uint8_t *arena = aligned_alloc(MOTE_ARENA_ALIGN, arena_len ? (arena_len + 63) / 64 * 64 : 64);
  for (size_t i = 0; i < mote_model_input_count(m); i++) {
    MoteTensorInfo t;
    mote_model_tensor(m, false, i, &t);
    printf("input %zu %s %s [", i, t.name, dtype_name(t.dtype));
    for (uint32_t d = 0; d < t.rank; d++) printf(d ? ",%u" : "%u", t.dims[d]);
    printf("] %zu bytes\n", t.nbytes);
    size_t n = 0;
    uint8_t *data = NULL;
    if ((size_t)argc > 3 + i) {
      data = read_file(argv[3 + i], &n);
      if (!data) { fprintf(stderr, "cannot read %s\n", argv[3 + i]); return 1; }
    } else {
      n = t.nbytes;
      data = malloc(n ? n : 1);
      for (size_t b = 0; b < n; b++) data[b] = (uint8_t)(b * 7 + 3);
    }
    s = mote_set_input(m, arena, arena_len, i, data, n);
    free(data);
    if (s != MOTE_STATUS_OK) { fprintf(stderr, "input %zu: %s\n", i, mote_model_last_error(m)); return 1; }
  }
  s = mote_invoke(m, arena, arena_len);
  if (s != MOTE_STATUS_OK) { fprintf(stderr, "invoke: %s\n", mote_model_last_error(m)); return 1; }
  for (size_t i = 0; i < mote_model_output_count(m); i++) {
    MoteTensorInfo t;
    const uint8_t *out = NULL;
    size_t n = 0;
    mote_model_tensor(m, true, i, &t);
    if (mote_output(m, arena, arena_len, i, &out, &n) != MOTE_STATUS_OK) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/output_%zu.bin", argv[2], i);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out, 1, n, f) != n) { fprintf(stderr, "cannot write %s\n", path); return 1; }
    fclose(f);
    printf("output %zu %s %s %zu bytes -> %s\n", i, t.name, dtype_name(t.dtype), n, path);
  }
  /* Errors are codes and messages, never crashes: a wrong input length. */
  uint8_t one = 0;
  if (mote_model_input_count(m) > 0 && mote_set_input(m, arena, arena_len, 0, &one, 1) != MOTE_STATUS_INPUT_LENGTH) {
    fprintf(stderr, "a wrong input length was not refused\n");
    return 1;
  }
  mote_model_free(m);
  free(arena);
  free(bytes);
  return 0;
}
