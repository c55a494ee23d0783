/* limit.h - what one statement may use: time, memory for nodes and values, the size
 * of an expression and of an input; each bound is set by an option and named when hit. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct mc;

/* The bounds (0 for a count or a size means "none"). */
struct mc_limits {
	double timeout;	     /* seconds one statement may run (--timeout) */
	size_t memory;	     /* bytes of expression nodes plus live numeric values (--max-memory) */
	long terms;	     /* operands of one sum or product (--max-terms) */
	size_t input;	     /* bytes of one statement, or of one rule file (--max-input) */
	long steps;	     /* rule applications in one rewriting run (--max-steps) */
};

#define LIMIT_DEFAULT_TIMEOUT 60.0
#define LIMIT_DEFAULT_MEMORY ((size_t)2048 << 20)
#define LIMIT_DEFAULT_TERMS 20000L
#define LIMIT_DEFAULT_INPUT ((size_t)16 << 20)
#define LIMIT_DEFAULT_STEPS 20000L
/* Deepest nesting of the rewriter's recursion: deeper, the engine stops with an
 * error instead of running out of stack (about 150 bytes a level, 8 MB stacks). */
#define LIMIT_REWRITE_DEPTH 6000

void limit_default(struct mc_limits *l);

/* The options that set the bounds (rows of the option table, src/options.c): --timeout S, --max-memory MB, --max-terms N, --max-input MB,
 * --max-steps N (0 for none, except --max-input, which must be at least 1). */
enum limit_opt { LIMIT_TIMEOUT, LIMIT_MEMORY, LIMIT_TERMS, LIMIT_INPUT, LIMIT_STEPS, LIMIT_NOPTS };
struct limit_option {
	const char *name;  /* "--timeout" */
	const char *takes; /* what its value is, for the error message */
};
extern const struct limit_option limit_options[LIMIT_NOPTS];

/* Sets one bound from its text; false (nothing changed) when the text is not a
 * valid value. */
bool limit_set(struct mc_limits *l, int opt, const char *value);
/* Appends the bound's value, as limit_set takes it. */
struct sbuf;
void limit_get(const struct mc_limits *l, int opt, struct sbuf *out);

/* Starts a statement: its clock, and a clean slate (no limit hit). */
void limit_start(struct mc *mc);

/* Whether a limit was hit in this statement (then mc_failed is true as well
 * and every constructor that can fail does). Checks the clock every so often:
 * cheap enough to call in every loop that might run long. */
bool limit_poll(struct mc *mc);
/* The same, reading the clock now: for steps that take long each (a matrix product). */
bool limit_poll_now(struct mc *mc);

/* Memory that counts toward --max-memory: node bytes are added by the arena;
 * numeric values tell limit_value_bytes as they are made and freed (a count
 * for the whole process: values are not tied to a session). False, with the
 * limit hit, when the total is over it. */
void limit_value_bytes(long delta);
bool limit_add_node_bytes(struct mc *mc, size_t bytes);
bool limit_check_memory(struct mc *mc);

/* Checks a count against a bound: false with the limit hit (the message names
 * what, the bound and the option) when count > bound. */
bool limit_check_terms(struct mc *mc, long count);

/* Stops the statement with a message (the first one wins). Returns false. */
bool limit_hit(struct mc *mc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
