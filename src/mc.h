/* mc.h - the session context shared by every module: memory, names, dimensions, errors. */
#ifndef MC_H
#define MC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "limit.h"

/* Ownership: everything allocated through mc_alloc / mc_strdup / mc_intern
 * lives in the session arena and is freed by mc_free; callers never free it.
 * Only mc_xmalloc'd buffers (growable arrays) are owned by their caller. */

#define MC_MAX_DEPTH 2000 /* deepest expression accepted from any input */
#define DIM_ANY (-1)	  /* a dimension that fits anything (sizes of I and 0) */

struct expr;
struct decl;

/* A source location: byte offsets into the text being read. */
struct loc {
	int first, last;
};

enum mc_errkind {
	MC_OK = 0,
	MC_ERR_SYNTAX,
	MC_ERR_NAME,
	MC_ERR_SHAPE,
	MC_ERR_RULE,
	MC_ERR_EVAL,
	MC_ERR_LIMIT,
	MC_ERR_NOTIMPL,
};

/* A sticky error: the first one set wins until mc_clear_error. */
struct mc_error {
	enum mc_errkind kind;
	bool has_loc;
	struct loc loc;
	char *msg; /* owned, mc_xmalloc'd */
};

struct dim {
	int parent;	  /* union-find */
	long value;	  /* concrete size, or -1 */
	const char *name; /* interned, or NULL */
	bool auto_named;  /* a name we made up (n_X) */
	bool not_one;	  /* a matrix's size: never unified with 1 */
};

struct arena_block;

struct mc {
	struct arena_block *arena;
	unsigned arrays_in_arena; /* MC_ARR_* bits: which arrays live in the arena */
	/* interned strings, with what the session knows under each name */
	struct mc_name *names;
	size_t nnames, capnames;
	struct mc_name_slot *name_hash; /* open addressing: hash and index into names (-1: free) */
	size_t name_hash_size;
	struct mc_strblock *strings; /* the interned strings' bytes (not arena: not node memory) */
	/* hash-consed nodes */
	struct expr **table;
	size_t tabsize, nnodes;
	/* numbers built lately, by their bits (expr_num: -1, 1, 2, 1/2 are made all the time) */
	struct mc_num_cache {
		uint64_t bits;
		struct expr *e;
	} num_cache[32];
	/* dimensions */
	struct dim *dims;
	int ndims, capdims;
	struct mc_error err;
	int dim_one;	/* the dimension 1 */
	int *prod_dims; /* triples (a, b, a*b) of product dimensions */
	int nprod, capprod;
	/* how many times a class of sizes took a value (dim_unify, dim_assign):
	 * while it stays, nodes built earlier would be normalised the same again
	 * (expr_sum relies on it) */
	unsigned dim_valued;
	/* how many times the classes of sizes changed at all (dim_unify merged two,
	 * dim_assign gave one a value, session.c marked one "not 1"), and
	 * expr_make_forget: results of expr_make kept in make_memo hold only while
	 * it stays */
	unsigned dim_epoch;
	struct make_memo *make_memo; /* expr.c: recent sums and products, or NULL */
	uint32_t next_id;
	bool ascii;    /* print Greek as ASCII names */
	int precision; /* significant digits for numbers */
	bool exact_errors; /* gradcheck prints its error figure (--precision given) */
	struct limit_state lim; /* resource bounds of the statement (src/limit.c) */
	/* Prints a node in plain form (an owned string) for error messages. The
	 * printing layer installs it (print_install): expr.c, below printing, names
	 * the operands of a shape error through it. NULL: only their shapes. */
	char *(*print_plain)(struct mc *mc, const struct expr *e);
};

/* What a name stands for, found in constant time (30,000 names stay fast). */
struct mc_name {
	char *str;
	const struct decl *decl; /* the session's current declaration, or NULL */
	int dim;		 /* the dimension of that name, or -1 */
	unsigned stmt_seen, stmt_bold; /* the serial of the last statement naming it (bold) */
};

struct mc *mc_new(void);
void mc_free(struct mc *mc);

void *mc_alloc(struct mc *mc, size_t size); /* zeroed, arena-owned */
void *mc_alloc_uninit(struct mc *mc, size_t size); /* the same, not zeroed */
/* Memory in transparent huge pages: `bytes` rounded up to 2 MB, on a 2 MB
 * boundary, advised MADV_HUGEPAGE (one page fault per 2 MB where 4 KB pages
 * take 512, each 2-3 us on the machines measured), zeroed. *map and *maplen
 * are what munmap releases. NULL when the mapping fails. */
#define MC_HUGE_PAGE ((size_t)2 << 20)
void *mc_map_huge(size_t bytes, void **map, size_t *maplen);
/* Makes room for about `bytes` of nodes at once, in huge pages (a long text
 * is about to be read); false, changing nothing, near the memory limit or
 * when the mapping fails. */
bool mc_arena_reserve(struct mc *mc, size_t bytes);
/* Room for that many more names and sizes without growing (a long text is
 * about to be read): in the room mc_arena_reserve made, when there is some. */
void mc_reserve(struct mc *mc, size_t names, size_t dims);
/* The session's arrays (names, their hash, sizes, the node table) live in
 * malloc'd memory, or, sized once for a long statement, in the arena's room
 * (already zero, its pages faulted in with the nodes'); which of them do is
 * mc->arrays_in_arena. room: take the arena's room if it has enough.
 * mc_array_fresh gives the array `which` a new, zeroed home of `bytes` and
 * says whether the old one was in the arena (else the caller frees it, once
 * done reading it: a rehash). mc_array_move gives it `bytes` keeping its first
 * `keep` and releases the old one (realloc when neither is in the arena).
 * mc_array_free releases one. */
enum { MC_ARR_NAMES = 1, MC_ARR_NAME_HASH = 2, MC_ARR_DIMS = 4, MC_ARR_TABLE = 8 };
void *mc_array_fresh(struct mc *mc, size_t bytes, unsigned which, bool room, bool *was_in_arena);
void *mc_array_move(struct mc *mc, void *old, size_t keep, size_t bytes, unsigned which, bool room);
void mc_array_free(struct mc *mc, void *p, unsigned which);
char *mc_strdup(struct mc *mc, const char *s);
const char *mc_intern(struct mc *mc, const char *s);	    /* equal strings, equal pointers */
struct mc_name *mc_name_info(struct mc *mc, const char *s); /* the entry of an interned name */
/* The index of s's entry in mc->names, interning s if new (an index stays
 * valid when names are added; a pointer into mc->names may not). */
int mc_name_id(struct mc *mc, const char *s);
/* The entry of s if interned already, else NULL (and nothing is added). */
struct mc_name *mc_name_lookup(struct mc *mc, const char *s);

/* The one allocation hook for owned buffers. When memory runs out it calls the
 * out-of-memory handler, which must not return: the default prints
 * "matcalc: error: out of memory" and exits with status 2 (docs/design.md). */
void mc_set_oom_handler(void (*handler)(size_t size));
/* Calls the handler (the default prints a message and exits 2); never returns. */
_Noreturn void mc_out_of_memory(size_t size);
void *mc_xmalloc(size_t size);
void *mc_xrealloc(void *p, size_t size);
void *mc_xcalloc(size_t n, size_t size); /* zeroed */
char *mc_xstrdup(const char *s);

/* Errors: set the first error (later ones are ignored until cleared). Returns false. */
bool mc_fail(struct mc *mc, enum mc_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool mc_fail_at(struct mc *mc, enum mc_errkind kind, struct loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool mc_failed(const struct mc *mc); /* an error is set, or a limit was hit (limit.h) */
void mc_set_loc(struct mc *mc, struct loc loc); /* attach a location if none yet */
void mc_clear_error(struct mc *mc);

/* Dimensions: symbolic sizes unified by operations. */
int dim_new(struct mc *mc, long value, const char *name, bool auto_named);
int dim_named(struct mc *mc, const char *name); /* the session's dimension of that name */
int dim_const(struct mc *mc, long value);
int dim_find(struct mc *mc, int d);
bool dim_same(struct mc *mc, int a, int b);  /* DIM_ANY is the same as anything */
bool dim_unify(struct mc *mc, int a, int b); /* false when two different sizes */
bool dim_unifiable(struct mc *mc, int a, int b); /* dim_unify would succeed (no change) */
long dim_value(struct mc *mc, int d);	     /* -1 when symbolic */
bool dim_is_one_slow(struct mc *mc, int d);
/* most sizes asked about are the 1 of a vector or a scalar itself */
static inline bool dim_is_one(struct mc *mc, int d) { return d == mc->dim_one || dim_is_one_slow(mc, d); }
int dim_product(struct mc *mc, int a, int b); /* the dimension a*b */
/* Gives d the size value (a numeric binding fixed it). Works on declared names
 * too, unlike dim_unify: d joins the class of the constant, so later
 * unification with that constant succeeds. False when d already has another
 * size, or d is a matrix's size (never 1) and value is 1. */
bool dim_assign(struct mc *mc, int d, long value);
/* Appends the dimension's name or value to buf (size n). */
void dim_print(struct mc *mc, int d, char *buf, size_t n);

/* Growable string buffer (mc_xmalloc'd, owned by the caller). */
struct sbuf {
	char *s;
	size_t len, cap;
};
/* Makes room for n more bytes and the NUL (the slow path of sbuf_addn). */
void sbuf_reserve(struct sbuf *b, size_t n);
/* Appends n bytes of s (inline: the printers append a few bytes at a time,
 * often a literal whose length the compiler knows). */
static inline void sbuf_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		sbuf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}
static inline void sbuf_add(struct sbuf *b, const char *s) { sbuf_addn(b, s, strlen(s)); }
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
char *sbuf_take(struct sbuf *b); /* returns the owned string, leaves b empty */
void sbuf_free(struct sbuf *b);

#endif
