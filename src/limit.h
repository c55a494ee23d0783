/* limit.h - what one statement may use: time, memory for nodes and values, the size
 * of an expression and of an input; each bound is set by an option and named when hit.
 * Below every other module: the session context (mc.h) holds a struct limit_state. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* The bounds (0 for a count or a size means "none"). */
struct mc_limits {
	double timeout; /* seconds one statement may run (--timeout) */
	size_t memory;	/* bytes of expression nodes plus live numeric values (--max-memory) */
	long terms;	/* operands of one sum or product (--max-terms) */
	size_t input;	/* bytes of one statement, or of one rule file (--max-input) */
	long steps;	/* rule applications in one rewriting run (--max-steps) */
};

/* The bounds and where one statement stands against them. */
struct limit_state {
	struct mc_limits bounds;
	char *halt_msg;	   /* a limit was hit in this statement: why (owned), else NULL */
	double deadline;   /* CLOCK_MONOTONIC seconds when the statement must stop, or 0 */
	unsigned polls;	   /* limit_poll calls, to read the clock only every so often */
	size_t node_bytes; /* arena bytes held by the session (counted toward memory) */
};

#define LIMIT_DEFAULT_TIMEOUT 60.0
#define LIMIT_DEFAULT_MEMORY ((size_t)2048 << 20)
#define LIMIT_DEFAULT_TERMS 20000L
#define LIMIT_DEFAULT_INPUT ((size_t)16 << 20)
#define LIMIT_DEFAULT_STEPS 20000L
/* Deepest nesting of the rewriter's recursion: deeper, the engine stops with an
 * error instead of running out of stack (a few hundred bytes a level). */
#define LIMIT_REWRITE_DEPTH 6000

/* The defaults, no statement started, no limit hit. */
void limit_init(struct limit_state *l);
/* Frees the message of a limit hit. */
void limit_fini(struct limit_state *l);

/* The options that set the bounds (rows of the option table, src/options.c):
 * --timeout S, --max-memory MB, --max-terms N, --max-input MB, --max-steps N
 * (0 for none, except --max-input, which must be at least 1). */
enum limit_opt { LIMIT_TIMEOUT, LIMIT_MEMORY, LIMIT_TERMS, LIMIT_INPUT, LIMIT_STEPS, LIMIT_NOPTS };
struct limit_option {
	const char *name;  /* "--timeout" */
	const char *takes; /* what its value is, for the error message */
};
extern const struct limit_option limit_options[LIMIT_NOPTS];

/* Sets one bound from its text; false (nothing changed) when the text is not a
 * valid value. */
bool limit_set(struct mc_limits *l, int opt, const char *value);
/* The bound's value as limit_set takes it, into buf (size n). */
void limit_get(const struct mc_limits *l, int opt, char *buf, size_t n);

/* Asks the running statement to stop (async-signal-safe): its next poll hits
 * the limit "interrupted". */
void limit_interrupt(void);
/* Starts a statement: its clock, and a clean slate (no limit hit, no interrupt). */
void limit_start(struct limit_state *l);

/* Whether a limit was hit in this statement (then mc_failed is true as well,
 * and expr_make fails). Reads the clock every 64 calls: cheap enough for
 * every node built and every rule applied. */
bool limit_poll(struct limit_state *l);
/* The same, reading the clock now: for steps that take long each (a matrix product). */
bool limit_poll_now(struct limit_state *l);

/* Memory that counts toward --max-memory: node bytes are added by the arena;
 * numeric values tell limit_value_bytes as they are made and freed (a count
 * for the whole process: values are not tied to a session). False, with the
 * limit hit, when the total is over it. */
void limit_value_bytes(long delta);
bool limit_add_node_bytes(struct limit_state *l, size_t bytes);
/* Whether bytes more would keep the memory in use within an eighth of the
 * limit: far enough from it that a block that large decides no outcome. */
bool limit_node_bytes_fit(const struct limit_state *l, size_t bytes);
bool limit_check_memory(struct limit_state *l);

/* Checks a count of operands against --max-terms: false with the limit hit
 * when it is over. */
bool limit_check_terms(struct limit_state *l, long count);

/* Stops the statement with a message (the first one wins). Returns false. */
bool limit_hit(struct limit_state *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
