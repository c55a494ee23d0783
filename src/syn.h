/* syn.h - the syntax tree the parser builds, before names and shapes are resolved. */
#ifndef SYN_H
#define SYN_H

#include <stdio.h>
#include <string.h>

#include "greek.h"
#include "mc.h"

enum syn_kind {
	SYN_IDENT,   /* name */
	SYN_NUM,     /* num */
	SYN_MATRIX,  /* vals (column-major), vr x vc */
	SYN_CALL,    /* name(kids...) */
	SYN_OP,	     /* op applied to kids (enum syn_op) */
	SYN_NORM,    /* ||kids[0]||, sub: 0 none, 2, 'F' */
	SYN_NABLA,   /* ∇_{kids[0]} kids[1] */
	SYN_EQ,	     /* kids[0] = kids[1] (= kids[2] ...: a chain, in check only) */
	STMT_EXPR,   /* kids[0] */
	STMT_ASSIGN, /* kids[0] = kids[1] */
	STMT_LET,    /* names in kids (SYN_IDENT), type words in tkids, dims in dkids */
	SYN_RULE,    /* kids: lhs, rhs, conditions...; name: citation */
	SYN_SECTION, /* name */
	SYN_BARS,    /* |kids[0]|: det of a matrix, abs of a scalar */
};

enum syn_op {
	SOP_ADD,
	SOP_SUB,
	SOP_NEG,
	SOP_MUL,
	SOP_DIV,
	SOP_HAD,
	SOP_EDIV,
	SOP_KRON,
	SOP_T,
	SOP_INV,
	SOP_INVT,
	SOP_POW,
	SOP_EPOW, /* .^ (elementwise power) */
	SOP_LDIV, /* MATLAB's left division, a \ b: inv(a) b */
};

/* How a name was written: the typography gives its kind (SPEC §2). */
enum syn_style {
	STYLE_NONE,   /* plain, or LaTeX without bold in the statement */
	STYLE_BOLD,   /* \mathbf, \boldsymbol, \bm, \vec: a vector or a matrix */
	STYLE_ITALIC, /* a non-bold Latin lowercase letter in a statement that uses bold: a scalar */
};

/* A node of the syntax tree: 64 bytes, as a long text makes tens of thousands
 * (the fields one kind alone uses share their room). */
struct syn {
	unsigned char kind;  /* enum syn_kind */
	signed char op;	     /* enum syn_op */
	unsigned char style; /* SYN_IDENT: enum syn_style */
	bool bare;	     /* a function applied without parentheses (\det X): nothing may follow it */
	bool grouped;	     /* written in parentheses */
	bool diff;	     /* SYN_IDENT "dX" written \mathrm{d}X: the differential of X, style X's */
	int sub;
	int n;
	int depth;
	struct loc loc;
	const char *name; /* owned by the parse */
	struct syn **kids;
	union {
		double num; /* SYN_NUM */
		long terms; /* SYN_OP, a sum: its terms down the left chain (bounded by --max-terms) */
		struct {    /* STMT_LET: words of the type (SYN_IDENT), last may be a SYN_CALL */
			struct syn **tkids;
			int ntype;
		};
		struct { /* SYN_MATRIX: rows and columns (a text is under 2 GB, so are they) */
			double *vals;
			int vr, vc;
		};
	};
};

/* The result of parsing one text: its statements (or rules), or an error. */
struct parse {
	struct mc *mc;
	const char *src;
	size_t len;
	bool rules_mode;
	struct syn **items;
	int nitems, capitems;
	/* every allocation of the parse, in blocks freed by parse_free; the
	 * free room of the current block (the first in the list) */
	struct parse_block *blocks;
	char *alloc_at, *alloc_end;
	/* the first error: message and location; eof_error when the input ended early */
	char *err;
	struct loc errloc;
	bool eof_error;
	/* lexer state */
	size_t pos; /* byte offset of the next token */
	bool started;
	int depth;     /* open ( [ { : newlines inside do not end a statement */
	int norm_open; /* an open ||: the next || after an operand closes it */
	bool after_operand;
	int line_start_pending;
	/* LaTeX reading (SPEC §2): decided per statement when it starts */
	bool stmt_start;  /* the next token starts a statement */
	bool latex;	  /* this statement is LaTeX: letters written together are separate symbols */
	bool stmt_bold;	  /* ... and it writes some name in bold */
	int bold_level;	  /* inside \mathbf{...} (the brace depth it opened), or 0 */
	bool bold_greek;  /* ... and that makes Greek letters bold too (\boldsymbol{...}) */
	int bar_open;	  /* open |...| bars */
	int prev_tok;	  /* the last token returned */
	/* names declared or defined earlier in this text (a LaTeX word that is one stays whole) */
	const char **names;
	int nnames, capnames;
	/* scratch buffers of the lexer (a token's name is built in them) */
	struct sbuf scratch[3];
	/* the session's names, asked through this hook (NULL: none) */
	bool (*known_name)(void *ctx, const char *name);
	void *known_ctx;
};

/* Parses text (len bytes, need not be NUL-terminated). Returns false with
 * p->err set on a syntax error. Free with parse_free whatever the result. */
bool parse_text(struct parse *p, struct mc *mc, const char *src, size_t len, bool rules_mode);
/* The same, asking known(ctx, name) whether a word of a LaTeX statement is a
 * declared or defined name of the session (then it is not split into letters). */
bool parse_text_names(struct parse *p, struct mc *mc, const char *src, size_t len, bool rules_mode,
		      bool (*known)(void *ctx, const char *name), void *ctx);
/* Remembers a name declared or defined by a statement of the text being parsed. */
void parse_add_name(struct parse *p, const char *name);
/* Whether name was declared or defined earlier in the text, or in the session. */
bool parse_knows_name(struct parse *p, const char *name);
void parse_free(struct parse *p);

/* The bytes the parse holds (its syntax tree and strings), for tests. */
size_t parse_memory(const struct parse *p);
/* Allocation inside a parse (freed by parse_free): zeroed, aligned to
 * PARSE_ALIGN (a node, pointers, doubles, strings need no more). A syntax
 * node costs one per token or so, so the common case is inline. */
enum { PARSE_ALIGN = 8 };
void *parse_alloc_block(struct parse *p, size_t size);
static inline void *parse_alloc(struct parse *p, size_t size)
{
	size = (size + PARSE_ALIGN - 1) / PARSE_ALIGN * PARSE_ALIGN;
	if (!p->alloc_at || size > (size_t)(p->alloc_end - p->alloc_at))
		return parse_alloc_block(p, size);
	void *m = p->alloc_at;
	p->alloc_at += size;
	return m;
}
static inline char *parse_strndup(struct parse *p, const char *s, size_t n)
{
	char *d = parse_alloc(p, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}
char *parse_strcat(struct parse *p, const char *a, const char *b);
/* A short plain form of a syntax tree, for messages. */
void syn_plain(struct sbuf *b, const struct syn *s);
static inline struct syn *syn_new(struct parse *p, enum syn_kind kind, struct loc loc)
{
	struct syn *s = parse_alloc(p, sizeof *s);
	s->kind = (unsigned char)kind;
	s->loc = loc;
	return s;
}
void syn_push(struct parse *p, struct syn *s, struct syn *kid);
bool syn_error(struct parse *p, struct loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether name is a function or a command (tr, logdet, grad, ones, ...). */
bool syn_known_call(const char *name);

/* Turns a byte offset into line and column (both 1-based; columns count characters). */
void loc_linecol(const char *src, size_t len, int off, int *line, int *col);
/* Writes "where:LINE:COL: error: MSG\n<line>\n<caret>\n" to out. */
void loc_report(FILE *out, const char *where, const char *src, size_t len, struct loc loc,
		const char *msg);
/* The same, for a text that starts after lines_before lines of its file (a
 * file run piece by piece as it is read). */
void loc_report_lines(FILE *out, const char *where, long lines_before, const char *src,
		      size_t len, struct loc loc, const char *msg);

#endif
