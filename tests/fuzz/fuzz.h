/*
 * fuzz.h — what the fuzz targets share.
 *
 * Each target (fuzz_frame.c, fuzz_file.c, fuzz_web.c) defines libFuzzer's
 * entry points.  Built with clang and -fsanitize=fuzzer they are fuzzers
 * (make fuzz); built with any compiler and linked with replay.c they replay
 * saved inputs (make check runs the regressions that way, no clang needed).
 * Test code only: nothing in capture/, analyzer/ or web/ includes it.
 */
#ifndef CS_TESTS_FUZZ_H
#define CS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "analyzer/engine.h"
#include "analyzer/views/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A small table (eviction runs after 64 connections) and alert thresholds
 * low enough that a few packets reach every detector. */
#define FUZZ_MAX_FLOWS 64
void fuzz_engine_opts(struct cs_engine_opts *o);

/* The analyzer's invariants after a run: every frame read is either
 * analysed or counted under one reason.  Aborts (a finding) otherwise. */
void fuzz_check_engine(const struct cs_engine *e);

/* A stream that discards what is written (opened once). */
FILE *fuzz_sink(void);

/* A reply as the server would send it: a status, a type, a body (JSON
 * when it says so); aborts otherwise.  Frees the body. */
struct cs_reply;
void fuzz_check_reply(struct cs_reply *r);

/* Renders every API reply of a snapshot (the list with a few filters, and
 * the first connections' details) and frees them. */
void fuzz_render_snapshot(const struct cs_snapshot *s);

#endif /* CS_TESTS_FUZZ_H */
