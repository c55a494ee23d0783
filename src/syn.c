/* syn.c - running the parser over a text, syntax-tree allocation, Greek names and error carets. */
#include "syn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "expr.h"
#include "parser.h"

/* flex's reentrant interface, declared here to avoid including lexer.h */
typedef void *yyscan_t;
int yylex_init_extra(struct parse *extra, yyscan_t *scanner);
int yylex_destroy(yyscan_t scanner);
struct yy_buffer_state *yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

/* The parse's memory: blocks taken from the allocator as needed, each carved
 * from the front; a node costs no malloc of its own, and parse_free frees
 * the blocks. */
struct parse_block {
	struct parse_block *next;
	size_t used, size;
	void *map;     /* a block of its own mapping (parse_big_block): the mapping, */
	size_t mapped; /* and its length; else 0 */
	max_align_t data[];
};

/* Everything a parse allocates (nodes, pointers, doubles, strings) needs at
 * most 8-byte alignment; a node is 64 bytes. */
_Static_assert(_Alignof(struct syn) <= PARSE_ALIGN, "parse_alloc's alignment");
_Static_assert(sizeof(struct syn) <= 64, "a syntax node fits a cache line");

enum { PARSE_BLOCK_MIN = 4096, PARSE_BLOCK_MAX = 256 * 1024 };

/* A long text's syntax tree is megabytes (about 14 bytes per byte read), and
 * taking it 4 KB page by page costs a page fault each (2-3 us here, a sixth of
 * parsing 100 kB). So a text of PARSE_BIG_TEXT bytes or more gets a first
 * block sized for 16 bytes per byte, in 2 MB huge pages (mc_map_huge: one
 * fault per 2 MB, zeroed as parse_alloc's memory must be). NULL when the
 * mapping fails (the blocks below serve). */
enum { PARSE_BIG_TEXT = 64 * 1024 };

static struct parse_block *parse_big_block(size_t len)
{
	size_t want = (16 * len + MC_HUGE_PAGE - 1) / MC_HUGE_PAGE * MC_HUGE_PAGE;
	void *map;
	size_t maplen;
	struct parse_block *b = mc_map_huge(want, &map, &maplen);
	if (!b)
		return NULL;
	b->size = want - sizeof *b;
	b->map = map;
	b->mapped = maplen;
	return b;
}

/* parse_alloc's slow path (syn.h): the first block, or a new one when the
 * current one has no room for size bytes (a multiple of PARSE_ALIGN). */
void *parse_alloc_block(struct parse *p, size_t size)
{
	struct parse_block *b = p->blocks;
	if (b)
		b->used = (size_t)(p->alloc_at - (char *)b->data);
	if (!b && p->len >= PARSE_BIG_TEXT && (b = parse_big_block(p->len)) != NULL)
		p->blocks = b;
	if (!b || b->size - b->used < size) {
		/* blocks double up to a bound: a short statement takes 4 KB, a long text
		 * few calls */
		size_t want =
		    b ? (b->size < PARSE_BLOCK_MAX ? 2 * b->size : PARSE_BLOCK_MAX) : PARSE_BLOCK_MIN;
		if (want < size)
			want = size;
		b = mc_xcalloc(1, sizeof *b + want); /* zeroed: parse_alloc's memory is */
		b->size = want;
		b->next = p->blocks;
		p->blocks = b;
	}
	char *m = (char *)b->data + b->used;
	p->alloc_at = m + size;
	p->alloc_end = (char *)b->data + b->size;
	return m;
}

size_t parse_memory(const struct parse *p)
{
	size_t n = 0;
	for (const struct parse_block *b = p->blocks; b; b = b->next)
		n += b == p->blocks ? (size_t)(p->alloc_at - (const char *)b->data) : b->used;
	return n;
}

char *parse_strcat(struct parse *p, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *d = parse_alloc(p, na + nb + 1);
	memcpy(d, a, na);
	memcpy(d + na, b, nb);
	return d;
}

void syn_plain(struct sbuf *b, const struct syn *s)
{
	if (!s) {
		sbuf_add(b, "...");
		return;
	}
	switch (s->kind) {
	case SYN_IDENT:
		sbuf_add(b, s->name);
		return;
	case SYN_NUM:
		sbuf_printf(b, "%g", s->num);
		return;
	case SYN_CALL:
		sbuf_printf(b, "%s(", s->name);
		for (int i = 0; i < s->n; i++) {
			if (i)
				sbuf_add(b, ", ");
			syn_plain(b, s->kids[i]);
		}
		sbuf_add(b, ")");
		return;
	case SYN_NORM:
		sbuf_add(b, "||");
		syn_plain(b, s->kids[0]);
		sbuf_add(b, "||");
		return;
	case SYN_OP:
		break;
	default:
		sbuf_add(b, "...");
		return;
	}
	const struct syn *a = s->kids[0];
	bool atom = a->kind == SYN_IDENT || a->kind == SYN_NUM || a->kind == SYN_CALL;
	switch (s->op) {
	case SOP_T:
	case SOP_INV:
	case SOP_INVT:
		if (!atom)
			sbuf_add(b, "(");
		syn_plain(b, a);
		if (!atom)
			sbuf_add(b, ")");
		sbuf_add(b, s->op == SOP_T ? "^T" : s->op == SOP_INV ? "^-1" : "^-T");
		return;
	case SOP_MUL:
		syn_plain(b, a);
		sbuf_add(b, " ");
		syn_plain(b, s->kids[1]);
		return;
	case SOP_NEG:
		sbuf_add(b, "-");
		syn_plain(b, a);
		return;
	default:
		sbuf_add(b, "(...)");
		return;
	}
}

/* Appends kid to s's kids (or, with s NULL, to the parse's items). */
void syn_push(struct parse *p, struct syn *s, struct syn *kid)
{
	struct syn ***v = s ? &s->kids : &p->items;
	int *n = s ? &s->n : &p->nitems;
	/* capacity: powers of two from 2 (most nodes have one or two kids), so
	 * the size is derivable from n */
	if (*n == 0 || (*n >= 2 && (*n & (*n - 1)) == 0)) {
		size_t cap = *n ? 2 * (size_t)*n : 2;
		struct syn **nv = parse_alloc(p, cap * sizeof **v);
		if (*n)
			memcpy(nv, *v, (size_t)*n * sizeof **v);
		*v = nv;
	}
	(*v)[(*n)++] = kid;
	if (s && kid && kid->depth + 1 > s->depth)
		s->depth = kid->depth + 1;
}

bool syn_error(struct parse *p, struct loc loc, const char *fmt, ...)
{
	if (p->err)
		return false;
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	p->err = sbuf_take(&b);
	p->errloc = loc;
	return false;
}

bool parse_text(struct parse *p, struct mc *mc, const char *src, size_t len, bool rules_mode)
{
	return parse_text_names(p, mc, src, len, rules_mode, NULL, NULL);
}

void parse_add_name(struct parse *p, const char *name)
{
	if (p->nnames == p->capnames) {
		p->capnames = p->capnames ? 2 * p->capnames : 16;
		const char **nv = parse_alloc(p, (size_t)p->capnames * sizeof *nv);
		if (p->nnames)
			memcpy(nv, p->names, (size_t)p->nnames * sizeof *nv);
		p->names = nv;
	}
	p->names[p->nnames++] = name;
}

bool parse_knows_name(struct parse *p, const char *name)
{
	/* linear, but a text declares few names and only multi-letter LaTeX words ask */
	for (int i = p->nnames - 1; i >= 0 && i >= p->nnames - 256; i--)
		if (strcmp(p->names[i], name) == 0)
			return true;
	return p->known_name && p->known_name(p->known_ctx, name);
}

/* The same parser generated without LAC (grammar/meson.build). */
int mc_parse_nolac(struct parse *p, void *scanner);

/* One parse of the text with parser (yyparse or mc_parse_nolac). */
static bool parse_with(struct parse *p, struct mc *mc, const char *src, size_t len, bool rules_mode,
		       bool (*known)(void *ctx, const char *name), void *ctx,
		       int (*parser)(struct parse *p, void *scanner))
{
	memset(p, 0, sizeof *p);
	p->known_name = known;
	p->known_ctx = ctx;
	p->stmt_start = true;
	p->mc = mc;
	p->src = src;
	p->len = len;
	p->rules_mode = rules_mode;
	if (len > (size_t)0x7fffffff)
		return syn_error(p, (struct loc){0, 0}, "input too large");
	yyscan_t scanner;
	if (yylex_init_extra(p, &scanner) != 0)
		return syn_error(p, (struct loc){0, 0}, "cannot start the lexer");
	yy_scan_bytes(src, (int)len, scanner);
	int rc = parser(p, scanner);
	yylex_destroy(scanner);
	if (rc != 0 && !p->err)
		syn_error(p, (struct loc){(int)len, (int)len},
			  rc == 2 ? "expression nested too deeply" : "syntax error");
	return rc == 0 && !p->err;
}

bool parse_text_names(struct parse *p, struct mc *mc, const char *src, size_t len, bool rules_mode,
		      bool (*known)(void *ctx, const char *name), void *ctx)
{
	/* LAC (parse.lac full) costs a tenth of parsing and matters only for a
	 * text with an error: its messages list exactly the tokens expected, and
	 * it runs no action past the wrong token. So the text is parsed without
	 * it first (the same tables: on a text it accepts, the same actions in
	 * the same order, and the parse only reads the session), and a text it
	 * refuses is parsed again from the start with LAC, which gives the result
	 * and the message as before. */
	if (parse_with(p, mc, src, len, rules_mode, known, ctx, mc_parse_nolac))
		return true;
	parse_free(p);
	return parse_with(p, mc, src, len, rules_mode, known, ctx, yyparse);
}

void parse_free(struct parse *p)
{
	while (p->blocks) {
		struct parse_block *b = p->blocks;
		p->blocks = b->next;
		if (b->mapped)
			munmap(b->map, b->mapped);
		else
			free(b);
	}
	for (int i = 0; i < 3; i++)
		sbuf_free(&p->scratch[i]);
	free(p->err);
	memset(p, 0, sizeof *p);
}

static bool known_call_uncached(const char *name)
{
	static const char *const commands[] = {
		"grad", "hess", "jacobian", "d", "eval", "check", "gradcheck", "solve", "factor", "ones",
		"zeros", "eye", "rand", "randn", "matrix", "vector", "scalar", "logdet", "norm", NULL,
	};
	if (expr_op_by_name(name) >= 0)
		return true;
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return false; /* every command is lowercase (XA, a glued word, asks here) */
	for (int i = 0; commands[i]; i++)
		if (strcmp(commands[i], name) == 0)
			return true;
	return false;
}

/* A LaTeX text asks about the same few words again and again (tr, every
 * glued word): the answers (which never change) are kept by a hash of the
 * word, for words of up to 15 bytes. */
bool syn_known_call(const char *name)
{
	static _Thread_local struct {
		char name[16];
		signed char known; /* 1 or -1; 0: an empty slot */
	} memo[64];
	uint32_t h = 2166136261u;
	size_t n = 0;
	for (; name[n] && n < 16; n++)
		h = (h ^ (unsigned char)name[n]) * 16777619u;
	if (n == 16)
		return known_call_uncached(name);
	h = (h ^ (h >> 15)) & 63;
	if (memo[h].known && memcmp(memo[h].name, name, n + 1) == 0)
		return memo[h].known > 0;
	bool known = known_call_uncached(name);
	memcpy(memo[h].name, name, n + 1);
	memo[h].known = known ? 1 : -1;
	return known;
}

/* ---- locations ---- */

/* The length of the valid UTF-8 sequence at s (n bytes available): 1 for
 * ASCII, 2-4, or 0 for a byte that starts no valid sequence. */
static size_t u8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t k;
	/* the range of the second byte excludes overlong forms, surrogates and
	 * code points past U+10FFFF (as the lexer does) */
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (k > n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return k;
}

/* Columns from byte a to byte b of one line: a character or an invalid byte
 * is one column (the caret line prints an invalid byte as '?'). */
static int columns(const char *src, size_t len, size_t a, size_t b)
{
	int c = 0;
	for (size_t i = a; i < b; c++) {
		size_t k = u8_seq((const unsigned char *)src + i, len - i);
		i += k ? k : 1;
	}
	return c;
}

static size_t line_start(const char *src, size_t off)
{
	while (off > 0 && src[off - 1] != '\n')
		off--;
	return off;
}

void loc_linecol(const char *src, size_t len, int off, int *line, int *col)
{
	size_t o = off < 0 ? 0 : (size_t)off > len ? len : (size_t)off;
	int l = 1;
	for (size_t i = 0; i < o; i++)
		if (src[i] == '\n')
			l++;
	*line = l;
	*col = columns(src, len, line_start(src, o), o) + 1;
}

void loc_report(FILE *out, const char *where, const char *src, size_t len, struct loc loc,
		const char *msg)
{
	loc_report_lines(out, where, 0, src, len, loc, msg);
}

void loc_report_lines(FILE *out, const char *where, long lines_before, const char *src,
		      size_t len, struct loc loc, const char *msg)
{
	int line, col;
	loc_linecol(src, len, loc.first, &line, &col);
	fprintf(out, "matcalc: %s:%ld:%d: error: %s\n", where, lines_before + line, col, msg);
	/* the source line, cut to a readable width around the column */
	size_t off = loc.first < 0 ? 0 : (size_t)loc.first > len ? len : (size_t)loc.first;
	size_t start = line_start(src, off), end = off;
	while (end < len && src[end] != '\n')
		end++;
	size_t from = start;
	if (off - start > 60) {
		from = off - 40;
		while (from < off && ((unsigned char)src[from] & 0xC0) == 0x80)
			from++;
	}
	size_t to = end;
	if (to - off > 60) {
		to = off + 40;
		while (to > off && ((unsigned char)src[to] & 0xC0) == 0x80)
			to--;
	}
	/* printed as valid UTF-8 with no control characters, one column each */
	fputs(from > start ? "..." : "", out);
	for (size_t i = from; i < to;) {
		unsigned char ch = (unsigned char)src[i];
		size_t k = u8_seq((const unsigned char *)src + i, to - i);
		if (k > 1)
			fwrite(src + i, 1, k, out);
		else
			fputc(ch == '\t'			    ? ' '
			      : (k == 0 || ch < 0x20 || ch == 0x7f) ? '?'
								    : ch,
			      out);
		i += k ? k : 1;
	}
	fprintf(out, "%s\n", to < end ? "..." : "");
	int pad = columns(src, len, from, off) + (from > start ? 3 : 0);
	for (int i = 0; i < pad; i++)
		fputc(' ', out);
	fputs("^\n", out);
}
