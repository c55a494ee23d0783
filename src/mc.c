/* mc.c - session context: the arena, string interning, dimensions and the sticky error. */
#include "mc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	void *map;     /* a block of its own mapping (mc_map_huge): the mapping, */
	size_t mapped; /* and its length; else 0 */
	_Alignas(16) unsigned char data[];
};

void *mc_map_huge(size_t bytes, void **map, size_t *maplen)
{
#ifdef MADV_HUGEPAGE
	size_t want = (bytes + MC_HUGE_PAGE - 1) / MC_HUGE_PAGE * MC_HUGE_PAGE;
	/* one huge page more, to start at a 2 MB boundary */
	size_t len = want + MC_HUGE_PAGE;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)m + MC_HUGE_PAGE - 1) & ~(uintptr_t)(MC_HUGE_PAGE - 1);
	/* a request: where the system has no transparent huge pages, 4 KB pages serve */
	madvise((void *)a, want, MADV_HUGEPAGE);
	*map = m;
	*maplen = len;
	return (void *)a;
#else
	(void)bytes, (void)map, (void)maplen;
	return NULL;
#endif
}

/* The interned strings' bytes: blocks carved from the front (a name costs no
 * malloc of its own, and names met together lie together). */
struct mc_strblock {
	struct mc_strblock *next;
	size_t used, size;
	char data[];
};

static void default_oom(size_t size)
{
	/* stdio may need memory itself: write(2) a fixed message */
	static const char msg[] = "matcalc: error: out of memory (the system refused an allocation; "
				  "--max-memory MB sets a lower limit that fails cleanly)\n";
	(void)size;
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(2);
}

static void (*oom_handler)(size_t) = default_oom;

void mc_set_oom_handler(void (*handler)(size_t size))
{
	oom_handler = handler ? handler : default_oom;
}

void mc_out_of_memory(size_t size)
{
	oom_handler(size);
	abort(); /* a handler that returns */
}

void *mc_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		mc_out_of_memory(size);
	return p;
}

void *mc_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		mc_out_of_memory(size);
	return q;
}

void *mc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		mc_out_of_memory(n * size);
	return p;
}

char *mc_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = mc_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

struct mc *mc_new(void)
{
	struct mc *mc = mc_xmalloc(sizeof *mc);
	memset(mc, 0, sizeof *mc);
	mc->tabsize = 4096;
	mc->table = mc_xcalloc(mc->tabsize, sizeof *mc->table);
	mc->precision = 6;
	limit_init(&mc->lim);
	mc->dim_one = dim_new(mc, 1, NULL, false);
	return mc;
}

void mc_free(struct mc *mc)
{
	if (!mc)
		return;
	struct arena_block *b = mc->arena;
	while (b) {
		struct arena_block *n = b->next;
		if (b->mapped)
			munmap(b->map, b->mapped);
		else
			free(b);
		b = n;
	}
	while (mc->strings) {
		struct mc_strblock *sb = mc->strings;
		mc->strings = sb->next;
		free(sb);
	}
	mc_array_free(mc, mc->names, MC_ARR_NAMES);
	mc_array_free(mc, mc->name_hash, MC_ARR_NAME_HASH);
	mc_array_free(mc, mc->table, MC_ARR_TABLE);
	free(mc->make_memo);
	mc_array_free(mc, mc->dims, MC_ARR_DIMS);
	free(mc->prod_dims);
	free(mc->err.msg);
	limit_fini(&mc->lim);
	free(mc);
}

void *mc_alloc_uninit(struct mc *mc, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct arena_block *b = mc->arena;
	if (!b || b->used + size > b->size) {
		size_t bs = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		struct arena_block *nb = mc_xmalloc(sizeof *nb + bs);
		limit_add_node_bytes(&mc->lim, sizeof *nb + bs);
		nb->size = bs;
		nb->mapped = 0;
		nb->used = 0;
		/* keep the partly used block at the head when the new one is a one-off */
		if (b && size > ARENA_BLOCK) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			mc->arena = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

bool mc_arena_reserve(struct mc *mc, size_t bytes)
{
	/* far from the memory limit only: a block this large must not be what
	 * stops a statement */
	if (!limit_node_bytes_fit(&mc->lim, bytes + MC_HUGE_PAGE))
		return false;
	void *map;
	size_t maplen;
	struct arena_block *b = mc_map_huge(sizeof *b + bytes, &map, &maplen);
	if (!b)
		return false;
	b->size = maplen - MC_HUGE_PAGE - sizeof *b;
	b->used = 0;
	b->map = map;
	b->mapped = maplen;
	limit_add_node_bytes(&mc->lim, b->size + sizeof *b);
	/* the block in use before is left with its rest: mc_alloc takes from the head */
	b->next = mc->arena;
	mc->arena = b;
	return true;
}

/* Never-used memory of the arena's current block when it is a mapping with
 * that much room left (mc_arena_reserve's): zero, as a fresh mapping is. */
static void *arena_take(struct mc *mc, size_t bytes)
{
	struct arena_block *b = mc->arena;
	bytes = (bytes + 15) & ~(size_t)15;
	if (!b || !b->mapped || b->size - b->used < bytes)
		return NULL;
	void *p = b->data + b->used;
	b->used += bytes;
	return p;
}

void *mc_array_fresh(struct mc *mc, size_t bytes, unsigned which, bool room, bool *was_in_arena)
{
	*was_in_arena = mc->arrays_in_arena & which;
	void *nv = room ? arena_take(mc, bytes) : NULL;
	if (nv) {
		mc->arrays_in_arena |= which;
		return nv;
	}
	mc->arrays_in_arena &= ~which;
	return mc_xcalloc(1, bytes);
}

void *mc_array_move(struct mc *mc, void *old, size_t keep, size_t bytes, unsigned which, bool room)
{
	if (!room && !(mc->arrays_in_arena & which))
		return mc_xrealloc(old, bytes);
	bool was_in_arena;
	void *nv = mc_array_fresh(mc, bytes, which, room, &was_in_arena);
	if (keep)
		memcpy(nv, old, keep);
	if (!was_in_arena)
		free(old); /* one in the arena goes with it */
	return nv;
}

void mc_array_free(struct mc *mc, void *p, unsigned which)
{
	if (!(mc->arrays_in_arena & which))
		free(p);
}

void *mc_alloc(struct mc *mc, size_t size)
{
	void *p = mc_alloc_uninit(mc, size);
	memset(p, 0, size);
	return p;
}

char *mc_strdup(struct mc *mc, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = mc_alloc(mc, n);
	memcpy(d, s, n);
	return d;
}

enum { STRBLOCK_MIN = 4096, STRBLOCK_MAX = 64 * 1024 };

static char *str_store(struct mc *mc, const char *s, size_t n)
{
	struct mc_strblock *b = mc->strings;
	if (!b || b->size - b->used < n + 1) {
		size_t want = b ? (b->size < STRBLOCK_MAX ? 2 * b->size : b->size) : STRBLOCK_MIN;
		if (want < n + 1)
			want = n + 1;
		b = mc_xmalloc(sizeof *b + want);
		b->size = want;
		b->used = 0;
		b->next = mc->strings;
		mc->strings = b;
	}
	char *d = b->data + b->used;
	memcpy(d, s, n + 1);
	b->used += n + 1;
	return d;
}

/* A slot of the name hash: the name's hash beside its index, so a probe
 * compares strings only when the hashes agree. */
struct mc_name_slot {
	uint32_t hash;
	int idx; /* into mc->names, or -1 */
};

/* FNV-1a of s; *len is set to its length. */
static uint32_t str_hash(const char *s, size_t *len)
{
	uint32_t h = 2166136261u;
	const char *p = s;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	*len = (size_t)(p - s);
	return h;
}

static void name_hash_insert(struct mc *mc, uint32_t h, int idx)
{
	size_t mask = mc->name_hash_size - 1;
	size_t i = h & mask;
	while (mc->name_hash[i].idx >= 0)
		i = (i + 1) & mask;
	mc->name_hash[i] = (struct mc_name_slot){h, idx};
}

static int name_find(struct mc *mc, const char *s, uint32_t h, size_t len)
{
	if (!mc->name_hash_size)
		return -1;
	size_t mask = mc->name_hash_size - 1;
	for (size_t i = h & mask; mc->name_hash[i].idx >= 0; i = (i + 1) & mask)
		if (mc->name_hash[i].hash == h &&
		    memcmp(mc->names[mc->name_hash[i].idx].str, s, len + 1) == 0)
			return mc->name_hash[i].idx;
	return -1;
}

/* Room for n names in all (the array and the hash, kept at most half full);
 * room: in the arena's room for a long statement, if there is some. */
static void names_room(struct mc *mc, size_t n, bool room)
{
	if (n > mc->capnames) {
		size_t cap = mc->capnames ? mc->capnames : 64;
		while (cap < n)
			cap *= 2;
		mc->names = mc_array_move(mc, mc->names, mc->nnames * sizeof *mc->names,
					  cap * sizeof *mc->names, MC_ARR_NAMES, room);
		mc->capnames = cap;
	}
	if (2 * n > mc->name_hash_size) {
		size_t old = mc->name_hash_size;
		struct mc_name_slot *ot = mc->name_hash;
		size_t size = old ? old : 128;
		while (size < 2 * n)
			size *= 2;
		mc->name_hash_size = size;
		bool ot_in_arena;
		mc->name_hash = mc_array_fresh(mc, size * sizeof *mc->name_hash, MC_ARR_NAME_HASH,
					       room, &ot_in_arena);
		for (size_t k = 0; k < mc->name_hash_size; k++)
			mc->name_hash[k].idx = -1;
		for (size_t k = 0; k < old; k++)
			if (ot[k].idx >= 0)
				name_hash_insert(mc, ot[k].hash, ot[k].idx);
		if (!ot_in_arena)
			free(ot);
	}
}

int mc_name_id(struct mc *mc, const char *s)
{
	size_t len;
	uint32_t h = str_hash(s, &len);
	int i = name_find(mc, s, h, len);
	if (i >= 0)
		return i;
	names_room(mc, mc->nnames + 1, false);
	i = (int)mc->nnames++;
	mc->names[i] = (struct mc_name){str_store(mc, s, len), NULL, -1, 0, 0};
	name_hash_insert(mc, h, i);
	return i;
}

void mc_reserve(struct mc *mc, size_t names, size_t dims)
{
	names_room(mc, mc->nnames + names, true);
	if (mc->ndims + dims > (size_t)mc->capdims) {
		size_t cap = mc->capdims ? (size_t)mc->capdims : 64;
		while (cap < mc->ndims + dims)
			cap *= 2;
		mc->dims = mc_array_move(mc, mc->dims, (size_t)mc->ndims * sizeof *mc->dims,
					 cap * sizeof *mc->dims, MC_ARR_DIMS, true);
		mc->capdims = (int)cap;
	}
}

const char *mc_intern(struct mc *mc, const char *s)
{
	int i = mc_name_id(mc, s); /* may move mc->names */
	return mc->names[i].str;
}

struct mc_name *mc_name_info(struct mc *mc, const char *s)
{
	int i = mc_name_id(mc, s);
	return &mc->names[i];
}

struct mc_name *mc_name_lookup(struct mc *mc, const char *s)
{
	size_t len;
	uint32_t h = str_hash(s, &len);
	int i = name_find(mc, s, h, len);
	return i >= 0 ? &mc->names[i] : NULL;
}

static bool vfail(struct mc *mc, enum mc_errkind kind, const struct loc *loc, const char *fmt,
		  va_list ap)
{
	if (mc->err.kind != MC_OK)
		return false;
	struct sbuf b = {0};
	sbuf_vprintf(&b, fmt, ap);
	mc->err.kind = kind;
	mc->err.msg = sbuf_take(&b);
	if (loc) {
		mc->err.has_loc = true;
		mc->err.loc = *loc;
	}
	return false;
}

bool mc_fail(struct mc *mc, enum mc_errkind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(mc, kind, NULL, fmt, ap);
	va_end(ap);
	return false;
}

bool mc_fail_at(struct mc *mc, enum mc_errkind kind, struct loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(mc, kind, &loc, fmt, ap);
	va_end(ap);
	return false;
}

bool mc_failed(const struct mc *mc) { return mc->err.kind != MC_OK || mc->lim.halt_msg; }

void mc_set_loc(struct mc *mc, struct loc loc)
{
	if (mc->err.kind != MC_OK && !mc->err.has_loc) {
		mc->err.has_loc = true;
		mc->err.loc = loc;
	}
}

void mc_clear_error(struct mc *mc)
{
	free(mc->err.msg);
	memset(&mc->err, 0, sizeof mc->err);
}

int dim_new(struct mc *mc, long value, const char *name, bool auto_named)
{
	if (mc->ndims == mc->capdims) {
		int cap = mc->capdims ? 2 * mc->capdims : 64;
		mc->dims = mc_array_move(mc, mc->dims, (size_t)mc->ndims * sizeof *mc->dims,
					 (size_t)cap * sizeof *mc->dims, MC_ARR_DIMS, false);
		mc->capdims = cap;
	}
	int d = mc->ndims++;
	mc->dims[d] = (struct dim){d, value, name ? mc_intern(mc, name) : NULL, auto_named, false};
	return d;
}

int dim_named(struct mc *mc, const char *name)
{
	struct mc_name *info = mc_name_info(mc, name);
	if (info->dim < 0) {
		/* one lookup: the name is interned already, and its entry's index
		 * stays (every new symbol names two sizes here) */
		size_t i = (size_t)(info - mc->names);
		int d = dim_new(mc, -1, NULL, false);
		mc->dims[d].name = mc->names[i].str;
		mc->names[i].dim = d;
		return d;
	}
	return info->dim;
}

int dim_const(struct mc *mc, long value)
{
	for (int i = 0; i < mc->ndims; i++)
		if (!mc->dims[i].name && mc->dims[i].value == value && mc->dims[i].parent == i)
			return i;
	return dim_new(mc, value, NULL, false);
}

int dim_find(struct mc *mc, int d)
{
	if (d < 0)
		return d;
	while (mc->dims[d].parent != d) {
		mc->dims[d].parent = mc->dims[mc->dims[d].parent].parent;
		d = mc->dims[d].parent;
	}
	return d;
}

long dim_value(struct mc *mc, int d)
{
	if (d < 0)
		return -1;
	return mc->dims[dim_find(mc, d)].value;
}

bool dim_is_one_slow(struct mc *mc, int d) { return dim_value(mc, d) == 1; }

bool dim_same(struct mc *mc, int a, int b)
{
	if (a < 0 || b < 0 || a == b)
		return true;
	a = dim_find(mc, a);
	b = dim_find(mc, b);
	if (a == b)
		return true;
	long va = mc->dims[a].value, vb = mc->dims[b].value;
	return va >= 0 && va == vb;
}

/* The representative keeps the most telling description: a value, then a
 * user's name, then a made-up name. */
static int dim_rank(const struct dim *d)
{
	if (d->value >= 0)
		return 3;
	if (d->name && !d->auto_named)
		return 2;
	return d->name ? 1 : 0;
}

bool dim_unifiable(struct mc *mc, int a, int b)
{
	if (a < 0 || b < 0)
		return true;
	a = dim_find(mc, a);
	b = dim_find(mc, b);
	if (a == b)
		return true;
	if (dim_rank(&mc->dims[a]) >= 2 && dim_rank(&mc->dims[b]) >= 2)
		return false;
	long va = mc->dims[a].value, vb = mc->dims[b].value;
	return !((mc->dims[a].not_one && vb == 1) || (mc->dims[b].not_one && va == 1));
}

bool dim_unify(struct mc *mc, int a, int b)
{
	/* sizes and the names a user declared are fixed; made-up names and
	 * anonymous sizes are unknowns that take either */
	if (!dim_unifiable(mc, a, b))
		return false;
	if (a < 0 || b < 0)
		return true;
	a = dim_find(mc, a);
	b = dim_find(mc, b);
	if (a == b)
		return true;
	bool not_one = mc->dims[a].not_one || mc->dims[b].not_one;
	mc->dim_epoch++;
	if ((mc->dims[a].value < 0) != (mc->dims[b].value < 0))
		mc->dim_valued++; /* a class takes a value */
	if (dim_rank(&mc->dims[b]) > dim_rank(&mc->dims[a])) {
		int t = a;
		a = b;
		b = t;
	}
	mc->dims[b].parent = a;
	mc->dims[a].not_one = not_one;
	return true;
}

void dim_print(struct mc *mc, int d, char *buf, size_t n)
{
	if (d < 0) {
		snprintf(buf, n, "?");
		return;
	}
	struct dim *r = &mc->dims[dim_find(mc, d)];
	if (r->value >= 0)
		snprintf(buf, n, "%ld", r->value);
	else if (r->name)
		snprintf(buf, n, "%s", r->name);
	else
		snprintf(buf, n, "k%d", dim_find(mc, d));
}

void sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (b->len + n + 1 > cap)
			cap *= 2;
		b->s = mc_xrealloc(b->s, cap);
		b->cap = cap;
	}
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		sbuf_addn(b, small, (size_t)n);
		return;
	}
	char *tmp = mc_xmalloc((size_t)n + 1);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	sbuf_addn(b, tmp, (size_t)n);
	free(tmp);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *sbuf_take(struct sbuf *b)
{
	char *s = b->s ? b->s : mc_xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int dim_product(struct mc *mc, int a, int b)
{
	if (a < 0 || b < 0)
		return DIM_ANY;
	a = dim_find(mc, a);
	b = dim_find(mc, b);
	long va = mc->dims[a].value, vb = mc->dims[b].value;
	if (va == 1)
		return b;
	if (vb == 1)
		return a;
	if (va >= 0 && vb >= 0)
		return dim_const(mc, va * vb);
	char na[64], nb[64], name[160];
	dim_print(mc, a, na, sizeof na);
	dim_print(mc, b, nb, sizeof nb);
	snprintf(name, sizeof name, "%s*%s", na, nb);
	if (a > b) {
		/* n*m and m*n are one size (named as first met) */
		int t = a;
		a = b;
		b = t;
	}
	for (int i = 0; i < mc->nprod; i++) {
		int *t = &mc->prod_dims[3 * i];
		if (dim_find(mc, t[0]) == a && dim_find(mc, t[1]) == b)
			return t[2];
	}
	int d = dim_new(mc, -1, name, true);
	if (mc->nprod == mc->capprod) {
		mc->capprod = mc->capprod ? 2 * mc->capprod : 16;
		mc->prod_dims = mc_xrealloc(mc->prod_dims, 3 * (size_t)mc->capprod * sizeof(int));
	}
	/* a product of a matrix's sizes is never 1 either */
	mc->dims[d].not_one = mc->dims[a].not_one || mc->dims[b].not_one;
	int *t = &mc->prod_dims[3 * mc->nprod++];
	t[0] = a;
	t[1] = b;
	t[2] = d;
	return d;
}

bool dim_assign(struct mc *mc, int d, long value)
{
	if (d < 0 || value < 0)
		return false;
	int r = dim_find(mc, d);
	if (mc->dims[r].value >= 0)
		return mc->dims[r].value == value;
	if (mc->dims[r].not_one && value == 1)
		return false;
	/* link to the constant's class rather than writing the value into r:
	 * dim_unify refuses two fixed roots even when their values agree */
	int c = dim_const(mc, value);
	mc->dims[r].parent = c;
	mc->dim_valued++;
	mc->dim_epoch++;
	mc->dims[c].not_one = mc->dims[c].not_one || mc->dims[r].not_one;
	return true;
}
