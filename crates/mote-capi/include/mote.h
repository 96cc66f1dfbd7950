/* The C API of the Mote runtime. Generated from crates/mote-capi/src/lib.rs by cbindgen
 * (`MOTE_UPDATE_HEADER=1 cargo test -p mote-capi --test header`); do not edit. */

#ifndef MOTE_H
#define MOTE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// The alignment of the model buffer and of the arena.
#define MOTE_ARENA_ALIGN 64

// The largest rank of a tensor.
#define MOTE_MAX_RANK 8

// What a call did.
typedef enum MoteStatus {
  // Success.
  MOTE_STATUS_OK = 0,
  // A pointer argument was NULL.
  MOTE_STATUS_NULL_ARGUMENT = 1,
  // The buffer is not a valid `.mote` file for this runtime, or not 64-byte aligned.
  MOTE_STATUS_INVALID_MODEL = 2,
  // The arena is smaller than `mote_model_arena_size` or not `MOTE_ARENA_ALIGN`-aligned.
  MOTE_STATUS_ARENA = 3,
  // An input or output index past the model's.
  MOTE_STATUS_NO_SUCH_TENSOR = 4,
  // Input data of another byte length than the input's.
  MOTE_STATUS_INPUT_LENGTH = 5,
  // A check on the data failed while running (e.g. an index out of range); the outputs
  // are not valid.
  MOTE_STATUS_RUN = 6,
  // A bug in Mote (a panic was caught); please report it with the model.
  MOTE_STATUS_INTERNAL = 7,
} MoteStatus;

// A loaded model (opaque).
typedef struct MoteModel MoteModel;

// An input or output: name, element type, shape and size.
typedef struct MoteTensorInfo {
  // NUL-terminated, valid while the model is.
  const char *name;
  // The element type's code: 1 f32, 2 u8, 3 i8, 4 u16, 5 i16, 6 i32, 7 i64, 9 bool, 10 f16,
  // 11 f64, 12 u32, 13 u64, 16 bf16 (`docs/FORMAT.md`).
  uint32_t dtype;
  uint32_t rank;
  // `dims[0..rank]`.
  uint32_t dims[MOTE_MAX_RANK];
  // Bytes of the tensor's data.
  size_t nbytes;
} MoteTensorInfo;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// Loads and validates the `.mote` file in `data[0..len]` without copying it; on success
// `*out` is the model. `data` must be 64-byte aligned and stay valid and unchanged until
// `mote_model_free`. On failure a message is written to `err` (`err_len` bytes, may be NULL).
//
// # Safety
// `data` points to `len` readable bytes that outlive the model; `out` is writable; `err` is
// NULL or points to `err_len` writable bytes.
enum MoteStatus mote_model_load(const uint8_t *data,
                                size_t len,
                                struct MoteModel **out,
                                char *err,
                                size_t err_len);

// Frees a model (NULL is ignored). Its buffer may be released afterwards.
//
// # Safety
// `m` is NULL or a model from `mote_model_load` not freed before.
void mote_model_free(struct MoteModel *m);

// The arena's size in bytes (0 for NULL).
//
// # Safety
// `m` is NULL or a live model.
size_t mote_model_arena_size(const struct MoteModel *m);

// The number of inputs (0 for NULL).
//
// # Safety
// `m` is NULL or a live model.
size_t mote_model_input_count(const struct MoteModel *m);

// The number of outputs (0 for NULL).
//
// # Safety
// `m` is NULL or a live model.
size_t mote_model_output_count(const struct MoteModel *m);

// Describes input `i` (`output` false) or output `i` (`output` true) in `*out`.
//
// # Safety
// `m` is NULL or a live model; `out` is NULL or writable.
enum MoteStatus mote_model_tensor(struct MoteModel *m,
                                  bool output,
                                  size_t i,
                                  struct MoteTensorInfo *out);

// Copies `data[0..len]` into input `i` in the arena (`len` must be the input's `nbytes`).
//
// # Safety
// `m` is NULL or a live model; `arena` points to `arena_len` writable bytes; `data` to `len`
// readable bytes.
enum MoteStatus mote_set_input(struct MoteModel *m,
                               uint8_t *arena,
                               size_t arena_len,
                               size_t i,
                               const uint8_t *data,
                               size_t len);

// Runs the model in the arena (its inputs set); no allocation.
//
// # Safety
// `m` is NULL or a live model; `arena` points to `arena_len` writable bytes.
enum MoteStatus mote_invoke(struct MoteModel *m, uint8_t *arena, size_t arena_len);

// Points `*data` and `*len` at output `i`'s bytes (in the arena, or in the model for a constant
// output), valid until the arena or the model changes.
//
// # Safety
// `m` is NULL or a live model; `arena` points to `arena_len` readable bytes; `data` and `len`
// are NULL or writable.
enum MoteStatus mote_output(struct MoteModel *m,
                            const uint8_t *arena,
                            size_t arena_len,
                            size_t i,
                            const uint8_t **data,
                            size_t *len);

// The message of the model's last failure ("" if none; NULL model: "").
//
// # Safety
// `m` is NULL or a live model. The string is valid until the model's next call.
const char *mote_model_last_error(const struct MoteModel *m);

// A short description of a status (a static string).
const char *mote_status_string(enum MoteStatus s);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* MOTE_H */
