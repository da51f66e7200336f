/*
 * seed_built.h — seed inputs made by the packet builder (seed_built.c).
 */
#ifndef CS_TESTS_FUZZ_SEED_BUILT_H
#define CS_TESTS_FUZZ_SEED_BUILT_H

/* Writes frame-target inputs into frame_dir and capture files into
 * file_dir (either NULL: not written); returns how many connections were
 * written, -1 on failure. */
int seed_built(const char *frame_dir, const char *file_dir);

#endif /* CS_TESTS_FUZZ_SEED_BUILT_H */
