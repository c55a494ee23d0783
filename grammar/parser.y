/* parser.y - grammar of matcalc statements and of rule files (two entry points, one grammar). */
%code requires {
#include "syn.h"
#define YYLTYPE struct loc
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                  \
	do {                                                             \
		if (N) {                                                     \
			(Cur).first = YYRHSLOC(Rhs, 1).first;                    \
			(Cur).last = YYRHSLOC(Rhs, N).last;                      \
		} else {                                                     \
			(Cur).first = (Cur).last = YYRHSLOC(Rhs, 0).last;        \
		}                                                            \
	} while (0)
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);
}

%code {
#include <stdlib.h>
#include <string.h>
#include "expr.h"

static void yyerror(YYLTYPE *loc, struct parse *p, void *scanner, const char *msg);
static struct syn *op1(struct parse *p, int op, struct syn *a, YYLTYPE loc);
static struct syn *op2(struct parse *p, int op, struct syn *a, struct syn *b, YYLTYPE loc);
static struct syn *sum2(struct parse *p, int op, struct syn *a, struct syn *b, YYLTYPE loc);
static struct syn *mat_new(struct parse *p, YYLTYPE loc);
static void mat_push(struct parse *p, struct syn *m, double v);
static bool mat_row_end(struct parse *p, struct syn *m, YYLTYPE at, bool more);
static bool mat_finish(struct parse *p, struct syn *m, YYLTYPE end);
static struct syn *ident(struct parse *p, const char *name, int style, YYLTYPE loc);
static struct syn *call1(struct parse *p, const char *name, struct syn *a, YYLTYPE loc);
static struct syn *sized(struct parse *p, const char *name, struct syn *r, struct syn *c, YYLTYPE loc);
static bool juxtapose_ok(struct parse *p, struct syn *left, struct syn *right);
static void stmt_names(struct parse *p, struct syn *st);
static void norm_sub_error(struct parse *p, YYLTYPE at, double k);
#define CHECK(s) do { if (!(s)) YYABORT; } while (0)
}

%define api.pure full
%locations
%define parse.error custom
%define parse.lac full
%expect 0
%parse-param {struct parse *p} {void *scanner}
%lex-param {void *scanner}

%union {
	double num;
	char *str;
	struct syn *syn;
}

/* Semantic values live in the parse's arena (parse_free releases them all,
 * also after an error), so the destructors have nothing to free. */
%destructor { } <syn> <str>

%token START_STMTS "start of statements" START_RULES "start of rules"
%token <num> NUMBER "number"
%token <str> IDENT "name" CALLNAME "function name" SECTION "[section]" CITE "@ citation"
%token <str> BIDENT "bold name" SIDENT "scalar name" FNAME "function without parentheses"
%token <str> EYE "identity I_n"
%token FRAC "\\frac" SQRT "\\sqrt" DIFF "\\mathrm{d}" LANGLE "⟨" RANGLE "⟩"
%token BAR_OPEN "|" BAR_CLOSE "closing |" ONES "\\mathbf{1}" ZEROS "\\mathbf{0}"
%token LDIV "\\ (left division)" EPOW ".^"
%token <num> SUPNUM "² or ³" SQSUB "^2_F"
%token SEP "end of statement"
%token LET "let" IF "if" ARROW "->" NABLA "∇"
%token TRANSPOSE "^T" INVERSE "^-1" INVTRANS "^-T" CARET "^"
%token NORM_OPEN "||" NORM_CLOSE "closing ||"
%token HAD "⊙" EDIV "./" KRON "⊗"

%type <syn> stmt expr term nabla product unary postfix exponent args
%type <syn> matrix mrows norm names typewords rule conds condlist eqchain fapp dimsize dimword

%%

start:
  START_STMTS stmts
| START_RULES rules
;

/* stmts -> { [stmt] SEP } */
stmts:
  %empty
| stmts SEP
| stmts stmt SEP { syn_push(p, NULL, $2); stmt_names(p, $2); }
;

/* stmt -> let names : type | expr = expr | expr */
stmt:
  LET names ':' typewords {
	$$ = $2;
	$$->kind = STMT_LET;
	$$->loc = @$;
	$$->ntype = $4->n;
	$$->tkids = $4->kids;
  }
| expr '=' expr { $$ = op2(p, 0, $1, $3, @$); CHECK($$); $$->kind = STMT_ASSIGN; }
| expr { $$ = op1(p, 0, $1, @$); CHECK($$); $$->kind = STMT_EXPR; }
;

names:
  IDENT { $$ = syn_new(p, STMT_LET, @$); struct syn *n = syn_new(p, SYN_IDENT, @1); n->name = $1; syn_push(p, $$, n); }
| names ',' IDENT { $$ = $1; struct syn *n = syn_new(p, SYN_IDENT, @3); n->name = $3; syn_push(p, $$, n); }
;

/* type -> { word } [ word(dims) ] */
typewords:
  IDENT { $$ = syn_new(p, SYN_CALL, @$); struct syn *w = syn_new(p, SYN_IDENT, @1); w->name = $1; syn_push(p, $$, w); }
| CALLNAME '(' args ')' { $$ = syn_new(p, SYN_CALL, @$); struct syn *w = $3; w->kind = SYN_CALL; w->name = $1; w->loc = @$; syn_push(p, $$, w); }
| typewords IDENT { $$ = $1; struct syn *w = syn_new(p, SYN_IDENT, @2); w->name = $2; syn_push(p, $$, w); }
| typewords CALLNAME '(' args ')' { $$ = $1; struct syn *w = $4; w->kind = SYN_CALL; w->name = $2; w->loc = @2; syn_push(p, $$, w); }
;

rules:
  %empty
| rules SEP
| rules SECTION SEP { struct syn *s = syn_new(p, SYN_SECTION, @2); s->name = $2; syn_push(p, NULL, s); }
| rules rule SEP { syn_push(p, NULL, $2); }
;

/* rule -> expr -> expr [if cond {cond}] @ citation */
rule:
  expr ARROW expr conds CITE {
	$$ = $4;
	$$->kind = SYN_RULE;
	$$->loc = @$;
	$$->name = $5;
	/* kids: lhs, rhs, then the conditions */
	syn_push(p, $$, NULL);
	syn_push(p, $$, NULL);
	memmove($$->kids + 2, $$->kids, (size_t)($$->n - 2) * sizeof *$$->kids);
	$$->kids[0] = $1;
	$$->kids[1] = $3;
  }
| expr ARROW expr conds SEP {
	(void)$1; (void)$3; (void)$4; $$ = NULL;
	syn_error(p, @5, "a rule ends with its citation: add '@ MC (N)' or '@ algebra'");
	YYABORT;
  }
;

conds:
  %empty { $$ = syn_new(p, SYN_RULE, @$); }
| IF condlist { $$ = $2; }
;

condlist:
  CALLNAME '(' args ')' { $$ = syn_new(p, SYN_RULE, @$); struct syn *c = $3; c->kind = SYN_CALL; c->name = $1; c->loc = @1; syn_push(p, $$, c); }
| condlist CALLNAME '(' args ')' { $$ = $1; struct syn *c = $4; c->kind = SYN_CALL; c->name = $2; c->loc = @2; syn_push(p, $$, c); }
| condlist ',' CALLNAME '(' args ')' { $$ = $1; struct syn *c = $5; c->kind = SYN_CALL; c->name = $3; c->loc = @3; syn_push(p, $$, c); }
;

/* The expression levels are written so that an operand climbs to a sum in
 * as few reductions as the language allows (a LaTeX formula of 100 kB is
 * tens of thousands of operands): a primary is a postfix, a unary is a
 * product's first factor, a product is a sum's term, without the unit steps
 * primary -> postfix -> unary -> product -> term -> sum -> expr. The language
 * is the same (each unit rule substituted into the rules that used it), so
 * the same actions run in the same order and LAC finds the same expected
 * tokens. */

/* expr -> term { (+|-) term } */
expr:
  product
| nabla
| expr '+' product { $$ = sum2(p, SOP_ADD, $1, $3, @$); CHECK($$); }
| expr '+' nabla { $$ = sum2(p, SOP_ADD, $1, $3, @$); CHECK($$); }
| expr '-' product { $$ = sum2(p, SOP_SUB, $1, $3, @$); CHECK($$); }
| expr '-' nabla { $$ = sum2(p, SOP_SUB, $1, $3, @$); CHECK($$); }
;

/* term -> ∇_sub term | product */
term:
  product
| nabla
;

nabla:
  NABLA '_' postfix term { $$ = op2(p, 0, $3, $4, @$); CHECK($$); $$->kind = SYN_NABLA; }
;

/* product -> unary { [*|/|⊙|./|⊗] unary | postfix }, its first factor written out */
product:
  postfix
| '-' unary { $$ = op1(p, SOP_NEG, $2, @$); CHECK($$); }
| '+' unary { $$ = $2; }
| fapp
| product '*' unary { $$ = op2(p, SOP_MUL, $1, $3, @$); CHECK($$); }
| product '/' unary { $$ = op2(p, SOP_DIV, $1, $3, @$); CHECK($$); }
| product HAD unary { $$ = op2(p, SOP_HAD, $1, $3, @$); CHECK($$); }
| product EDIV unary { $$ = op2(p, SOP_EDIV, $1, $3, @$); CHECK($$); }
| product KRON unary { $$ = op2(p, SOP_KRON, $1, $3, @$); CHECK($$); }
| product LDIV unary { $$ = op2(p, SOP_LDIV, $1, $3, @$); CHECK($$); }
| product postfix { CHECK(juxtapose_ok(p, $1, $2)); $$ = op2(p, SOP_MUL, $1, $2, @$); CHECK($$); }
| product fapp { $$ = op2(p, SOP_MUL, $1, $2, @$); CHECK($$); }
;

/* fapp -> FNAME unary: \det X, \log\det X, \operatorname{tr} X without parentheses */
fapp:
  FNAME unary { $$ = call1(p, $1, $2, @$); CHECK($$); $$->bare = true; }
;

/* unary -> (-|+) unary | postfix */
unary:
  postfix
| '-' unary { $$ = op1(p, SOP_NEG, $2, @$); CHECK($$); }
| '+' unary { $$ = $2; }
| fapp
;

/* postfix -> primary { ^T | ^-1 | ^-T | ^ exponent }, a primary written out */
postfix:
  IDENT { $$ = ident(p, $1, STYLE_NONE, @$); }
| BIDENT { $$ = ident(p, $1, STYLE_BOLD, @$); }
| SIDENT { $$ = ident(p, $1, STYLE_ITALIC, @$); }
| DIFF IDENT { $$ = ident(p, parse_strcat(p, "d", $2), STYLE_NONE, @$); CHECK($$); $$->diff = true; }
| DIFF BIDENT { $$ = ident(p, parse_strcat(p, "d", $2), STYLE_BOLD, @$); CHECK($$); $$->diff = true; }
| DIFF SIDENT { $$ = ident(p, parse_strcat(p, "d", $2), STYLE_ITALIC, @$); CHECK($$); $$->diff = true; }
| DIFF '(' expr ')' { $$ = call1(p, "d", $3, @$); CHECK($$); }
| FRAC '{' expr '}' '{' expr '}' { $$ = op2(p, SOP_DIV, $3, $6, @$); CHECK($$); }
| SQRT '{' expr '}' { $$ = call1(p, "sqrt", $3, @$); CHECK($$); }
| LANGLE expr ',' expr RANGLE {
	/* ⟨A, B⟩ = tr(AᵀB) */
	struct syn *at = op1(p, SOP_T, $2, @2);
	CHECK(at);
	struct syn *m = op2(p, SOP_MUL, at, $4, @$);
	CHECK(m);
	$$ = call1(p, "tr", m, @$); CHECK($$);
  }
| BAR_OPEN expr BAR_CLOSE { $$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_BARS; }
| ONES { $$ = sized(p, "ones", NULL, NULL, @$); }
| ONES '_' dimsize { $$ = sized(p, "ones", $3->kids[0], $3->n > 1 ? $3->kids[1] : NULL, @$); }
| ZEROS { $$ = sized(p, "zeros", NULL, NULL, @$); }
| ZEROS '_' dimsize { $$ = sized(p, "zeros", $3->kids[0], $3->n > 1 ? $3->kids[1] : NULL, @$); }
| EYE {
	struct syn *d;
	if (strspn($1, "0123456789") == strlen($1)) {
		d = syn_new(p, SYN_NUM, @1);
		d->num = atof($1);
	} else {
		d = ident(p, $1, STYLE_NONE, @1);
	}
	$$ = call1(p, "eye", d, @$); CHECK($$);
  }
| NUMBER { $$ = syn_new(p, SYN_NUM, @$); $$->num = $1; }
| '(' expr ')' { $$ = $2; $$->grouped = true; }
| '{' expr '}' { $$ = $2; $$->grouped = true; }
| CALLNAME '(' args ')' { $$ = $3; $$->kind = SYN_CALL; $$->name = $1; $$->loc = @$; }
| CALLNAME '(' ')' { $$ = syn_new(p, SYN_CALL, @$); $$->name = $1; }
| norm
| matrix
| postfix TRANSPOSE { $$ = op1(p, SOP_T, $1, @$); CHECK($$); }
| postfix INVERSE { $$ = op1(p, SOP_INV, $1, @$); CHECK($$); }
| postfix INVTRANS { $$ = op1(p, SOP_INVT, $1, @$); CHECK($$); }
| postfix CARET exponent { $$ = op2(p, SOP_POW, $1, $3, @$); CHECK($$); }
| postfix SUPNUM { struct syn *k = syn_new(p, SYN_NUM, @2); k->num = $2; $$ = op2(p, SOP_POW, $1, k, @$); CHECK($$); }
| postfix EPOW exponent { $$ = op2(p, SOP_EPOW, $1, $3, @$); CHECK($$); }
;

exponent:
  NUMBER { $$ = syn_new(p, SYN_NUM, @$); $$->num = $1; }
| '-' NUMBER { $$ = syn_new(p, SYN_NUM, @$); $$->num = -$2; }
| IDENT { $$ = syn_new(p, SYN_IDENT, @$); $$->name = $1; }
| '(' expr ')' { $$ = $2; }
| '{' expr '}' { $$ = $2; }
;

/* the size of \mathbf{1}_{n \times m}: n, {n} or {n \times m} */
dimsize:
  dimword { $$ = syn_new(p, SYN_CALL, @$); syn_push(p, $$, $1); }
| '{' dimword '}' { $$ = syn_new(p, SYN_CALL, @$); syn_push(p, $$, $2); }
| '{' dimword '*' dimword '}' { $$ = syn_new(p, SYN_CALL, @$); syn_push(p, $$, $2); syn_push(p, $$, $4); }
;

dimword:
  IDENT { $$ = ident(p, $1, STYLE_NONE, @$); }
| SIDENT { $$ = ident(p, $1, STYLE_NONE, @$); }
| BIDENT { $$ = ident(p, $1, STYLE_NONE, @$); }
| NUMBER { $$ = syn_new(p, SYN_NUM, @$); $$->num = $1; }
;

/* norm -> || expr || [ _ sub ] */
norm:
  NORM_OPEN expr NORM_CLOSE { $$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_NORM; }
| NORM_OPEN expr NORM_CLOSE SQSUB {
	/* \|e\|^2_F */
	struct syn *n = op1(p, 0, $2, @$); CHECK(n); n->kind = SYN_NORM; n->sub = (int)$4;
	struct syn *k = syn_new(p, SYN_NUM, @4); k->num = 2;
	$$ = op2(p, SOP_POW, n, k, @$); CHECK($$);
  }
| NORM_OPEN expr NORM_CLOSE '_' IDENT {
	$$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_NORM;
	if (strcmp($5, "F") != 0) { syn_error(p, @5, "a norm's subscript is 2 or F, not '%.20s%s'", $5, strlen($5) > 20 ? "..." : ""); YYABORT; }
	$$->sub = 'F';
  }
| NORM_OPEN expr NORM_CLOSE '_' NUMBER {
	$$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_NORM;
	if ($5 != 2) { norm_sub_error(p, @5, $5); YYABORT; }
	$$->sub = 2;
  }
| NORM_OPEN expr NORM_CLOSE '_' '{' IDENT '}' {
	$$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_NORM;
	if (strcmp($6, "F") != 0) { syn_error(p, @6, "a norm's subscript is 2 or F, not '%.20s%s'", $6, strlen($6) > 20 ? "..." : ""); YYABORT; }
	$$->sub = 'F';
  }
| NORM_OPEN expr NORM_CLOSE '_' '{' NUMBER '}' {
	$$ = op1(p, 0, $2, @$); CHECK($$); $$->kind = SYN_NORM;
	if ($6 != 2) { norm_sub_error(p, @6, $6); YYABORT; }
	$$->sub = 2;
  }
;

/* args -> arg { , arg },  arg -> expr | eqchain (written out: no unit step) */
args:
  expr { $$ = syn_new(p, SYN_CALL, @$); syn_push(p, $$, $1); }
| eqchain { $$ = syn_new(p, SYN_CALL, @$); syn_push(p, $$, $1); }
| args ',' expr { $$ = $1; syn_push(p, $$, $3); }
| args ',' eqchain { $$ = $1; syn_push(p, $$, $3); }
;

/* eqchain -> expr = expr { = expr }: check(a = b = c) checks each link */
eqchain:
  expr '=' expr { $$ = op2(p, 0, $1, $3, @$); CHECK($$); $$->kind = SYN_EQ; }
| eqchain '=' expr {
	$$ = $1;
	syn_push(p, $$, $3);
	$$->loc = @$;
	if ($3->depth >= $$->depth)
		$$->depth = $3->depth + 1;
  }
;

/* matrix -> [ row { ; row } ],  row -> number { [,] number } */
matrix:
  '[' mrows ']' { $$ = $2; $$->loc = @$; CHECK(mat_finish(p, $$, @3)); }
| '[' mrows ';' ']' { $$ = $2; $$->loc = @$; CHECK(mat_finish(p, $$, @4)); }
;

/* The entries go straight into one growing array: a literal of millions of
 * numbers must not cost a syntax node each. */
mrows:
  NUMBER { $$ = mat_new(p, @1); mat_push(p, $$, $1); }
| '-' NUMBER { $$ = mat_new(p, @1); mat_push(p, $$, -$2); }
| mrows NUMBER { $$ = $1; mat_push(p, $$, $2); }
| mrows ',' NUMBER { $$ = $1; mat_push(p, $$, $3); }
| mrows '-' NUMBER { $$ = $1; mat_push(p, $$, -$3); }
| mrows ',' '-' NUMBER { $$ = $1; mat_push(p, $$, -$4); }
| mrows ';' NUMBER { $$ = $1; CHECK(mat_row_end(p, $$, @2, true)); $$->sub = @3.first; mat_push(p, $$, $3); }
| mrows ';' '-' NUMBER { $$ = $1; CHECK(mat_row_end(p, $$, @2, true)); $$->sub = @3.first; mat_push(p, $$, -$4); }
;

%%

static void yyerror(YYLTYPE *loc, struct parse *p, void *scanner, const char *msg)
{
	(void)scanner;
	if (p->err)
		return; /* the lexer's message is the more precise one */
	if (loc->first >= (int)p->len)
		p->eof_error = true;
	const char *m = msg;
	if (strncmp(m, "syntax error, ", 14) == 0)
		m += 14;
	/* bison's stack (YYMAXDEPTH) overflows before depth_check sees the node */
	if (strcmp(m, "memory exhausted") == 0)
		m = "expression nested too deeply";
	syn_error(p, *loc, "%s", m);
}

/* A matrix literal being read: vals row-major, vr the current row (1-based),
 * vc the length of row 1 (0 while reading it), n the entries of the current
 * row, sub the offset where the current row starts (for the error). */
static struct syn *mat_new(struct parse *p, YYLTYPE loc)
{
	struct syn *m = syn_new(p, SYN_MATRIX, loc);
	m->vr = 1;
	m->sub = loc.first;
	return m;
}

static void mat_push(struct parse *p, struct syn *m, double v)
{
	size_t used = (size_t)(m->vr - 1) * (size_t)m->vc + (size_t)m->n;
	/* capacity: powers of two from 16, so it is derivable from the count */
	if (used >= 16 && (used & (used - 1)) == 0) {
		double *nv = parse_alloc(p, 2 * used * sizeof *nv);
		memcpy(nv, m->vals, used * sizeof *nv);
		m->vals = nv;
	} else if (used == 0) {
		m->vals = parse_alloc(p, 16 * sizeof *m->vals);
	}
	m->vals[used] = v;
	m->n++;
}

/* Ends the current row at `at`: a ';' (more rows follow) or the closing ']'. */
static bool mat_row_end(struct parse *p, struct syn *m, YYLTYPE at, bool more)
{
	if (m->vr == 1)
		m->vc = m->n;
	else if (m->n != m->vc)
		return syn_error(p, (struct loc){m->sub, at.first},
				 "row %d has %d entr%s, but row 1 has %d", m->vr, m->n,
				 m->n == 1 ? "y" : "ies", m->vc);
	if (more) {
		m->vr++;
		m->n = 0;
	}
	return true;
}

/* "unexpected X[, expecting Y or Z]". With LAC the expected tokens are
 * exact; past four of them a list does not help, except that at the end of a
 * statement after an operand (or inside a matrix literal) the missing closing
 * bracket is almost always the point. */
static int yyreport_syntax_error(const yypcontext_t *ctx, struct parse *p, void *scanner)
{
	(void)scanner;
	if (p->err)
		return 0; /* the lexer's message is the more precise one */
	const YYLTYPE *loc = yypcontext_location(ctx);
	if (loc->first >= (int)p->len)
		p->eof_error = true;
	yysymbol_kind_t tok = yypcontext_token(ctx);
	yysymbol_kind_t exp[YYNTOKENS];
	int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	if (n < 0)
		n = 0;
	struct sbuf b = {0};
	if (tok == YYSYMBOL_YYEMPTY) {
		sbuf_add(&b, "syntax error");
	} else {
		sbuf_add(&b, "unexpected ");
		sbuf_add(&b, yysymbol_name(tok));
	}
	bool at_end = tok == YYSYMBOL_SEP || tok == YYSYMBOL_YYEOF;
	bool after_operand = false, in_matrix = false;
	int nclose = 0;
	yysymbol_kind_t closers[4];
	for (int i = 0; i < n; i++) {
		const char *name = yysymbol_name(exp[i]);
		if (strcmp(name, "'/'") == 0)
			after_operand = true;
		if (strcmp(name, "']'") == 0)
			in_matrix = true;
		if ((strcmp(name, "')'") == 0 || strcmp(name, "']'") == 0 ||
		     strcmp(name, "'}'") == 0 || exp[i] == YYSYMBOL_NORM_CLOSE) && nclose < 4)
			closers[nclose++] = exp[i];
	}
	const yysymbol_kind_t *list = exp;
	int nlist = n <= 4 ? n : 0;
	if (at_end && nclose > 0 && (after_operand || in_matrix)) {
		list = closers;
		nlist = nclose;
	}
	for (int i = 0; i < nlist; i++) {
		sbuf_add(&b, i == 0 ? ", expecting " : " or ");
		sbuf_add(&b, yysymbol_name(list[i]));
	}
	syn_error(p, *loc, "%s", b.s);
	sbuf_free(&b);
	return 0;
}

/* Checks the last row and turns the entries column-major, as nodes want them. */
static bool mat_finish(struct parse *p, struct syn *m, YYLTYPE end)
{
	if (!mat_row_end(p, m, end, false))
		return false;
	long r = m->vr, c = m->vc;
	double *cm = parse_alloc(p, (size_t)(r * c) * sizeof(double));
	for (long i = 0; i < r; i++)
		for (long j = 0; j < c; j++)
			cm[j * r + i] = m->vals[i * c + j];
	m->vals = cm;
	m->n = 0;
	return true;
}

static void norm_sub_error(struct parse *p, YYLTYPE at, double k)
{
	if (k == 1)
		syn_error(p, at, "the 1-norm is not supported: write it as sum(abs(...))");
	else
		syn_error(p, at, "only the 2-norm and the Frobenius norm (_F) are supported");
}

static struct syn *ident(struct parse *p, const char *name, int style, YYLTYPE loc)
{
	struct syn *s = syn_new(p, SYN_IDENT, loc);
	s->name = name;
	s->style = style;
	return s;
}

static struct syn *call1(struct parse *p, const char *name, struct syn *a, YYLTYPE loc)
{
	struct syn *s = op1(p, 0, a, loc);
	if (s) {
		s->kind = SYN_CALL;
		s->name = name;
	}
	return s;
}

/* ones/zeros of a size given (n: a vector; n, m) or not (NULL: the size that fits) */
static struct syn *sized(struct parse *p, const char *name, struct syn *r, struct syn *c, YYLTYPE loc)
{
	struct syn *s = syn_new(p, SYN_CALL, loc);
	s->name = name;
	if (r) {
		syn_push(p, s, r);
		if (!c) {
			c = syn_new(p, SYN_NUM, loc);
			c->num = 1;
		}
		syn_push(p, s, c);
	}
	return s;
}

/* \det X Y: a function applied without parentheses, then another factor,
 * reads two ways; refuse, showing both. */
static bool juxtapose_ok(struct parse *p, struct syn *left, struct syn *right)
{
	/* y ⊙ X w: (y ⊙ X) w or y ⊙ (X w) */
	if (left->kind == SYN_OP && !left->grouped &&
	    (left->op == SOP_HAD || left->op == SOP_EDIV || left->op == SOP_KRON)) {
		const char *op = left->op == SOP_HAD ? "⊙" : left->op == SOP_EDIV ? "./" : "⊗";
		struct sbuf a = {0}, b = {0}, c = {0};
		syn_plain(&a, left->kids[0]);
		syn_plain(&b, left->kids[1]);
		syn_plain(&c, right);
		syn_error(p, right->loc,
			  "'%s %s %s %s' reads two ways: (%s %s %s) %s or %s %s (%s %s); write the "
			  "parentheses you mean",
			  a.s, op, b.s, c.s, a.s, op, b.s, c.s, a.s, op, b.s, c.s);
		sbuf_free(&a);
		sbuf_free(&b);
		sbuf_free(&c);
		return false;
	}
	struct syn *f = left;
	if (f->kind == SYN_OP && f->op == SOP_MUL && f->n == 2)
		f = f->kids[1];
	if (!f->bare)
		return true;
	struct sbuf a = {0}, b = {0};
	syn_plain(&a, f->kids[0]);
	syn_plain(&b, right);
	syn_error(p, right->loc,
		  "'%s %s %s' reads two ways: %s(%s %s) or %s(%s) %s; write the parentheses you mean",
		  f->name, a.s, b.s, f->name, a.s, b.s, f->name, a.s, b.s);
	sbuf_free(&a);
	sbuf_free(&b);
	return false;
}

/* Names a statement declares (let) or defines (name = ...): a later LaTeX
 * statement of the same text keeps them whole. */
static void stmt_names(struct parse *p, struct syn *st)
{
	if (st->kind == STMT_LET)
		for (int i = 0; i < st->n; i++)
			parse_add_name(p, st->kids[i]->name);
	else if (st->kind == STMT_ASSIGN && (st->kids[0]->kind == SYN_IDENT || st->kids[0]->kind == SYN_CALL))
		parse_add_name(p, st->kids[0]->name);
}

static struct syn *depth_check(struct parse *p, struct syn *s)
{
	if (s->depth > MC_MAX_DEPTH) {
		syn_error(p, s->loc, "expression nested too deeply (more than %d levels)", MC_MAX_DEPTH);
		return NULL;
	}
	return s;
}

/* An operator node with its kids' array in one allocation: room for two
 * kids, as syn_push gives (so syn_push may add more). */
static struct syn *op_node(struct parse *p, int op, YYLTYPE loc)
{
	struct syn *s = parse_alloc(p, sizeof *s + 2 * sizeof(struct syn *));
	s->kind = SYN_OP;
	s->loc = loc;
	s->op = op;
	s->kids = (struct syn **)(s + 1);
	return s;
}

static struct syn *op1(struct parse *p, int op, struct syn *a, YYLTYPE loc)
{
	struct syn *s = op_node(p, op, loc);
	s->kids[0] = a;
	s->n = 1;
	s->depth = a->depth + 1;
	return depth_check(p, s);
}

static struct syn *op2(struct parse *p, int op, struct syn *a, struct syn *b, YYLTYPE loc)
{
	struct syn *s = op_node(p, op, loc);
	s->kids[0] = a;
	s->kids[1] = b;
	s->n = 2;
	s->depth = (a->depth > b->depth ? a->depth : b->depth) + 1;
	return depth_check(p, s);
}

/* sum -> sum ('+' | '-') term: a long sum is a chain down the left side, which
 * src/session.c resolves in a loop, so its length is not nesting (a sum of
 * 2,000 terms is fine; its length is bounded by --max-terms). Rule files keep
 * the plain count: their loader recurses. */
static struct syn *sum2(struct parse *p, int op, struct syn *a, struct syn *b, YYLTYPE loc)
{
	if (p->rules_mode || a->kind != SYN_OP || (a->op != SOP_ADD && a->op != SOP_SUB))
		return op2(p, op, a, b, loc);
	struct syn *s = op_node(p, op, loc);
	s->kids[0] = a;
	s->kids[1] = b;
	s->n = 2;
	s->depth = a->depth > b->depth + 1 ? a->depth : b->depth + 1;
	s->terms = (a->terms ? a->terms : 2) + 1;
	long lim = p->mc->lim.bounds.terms;
	if (lim && s->terms > lim) {
		syn_error(p, s->loc,
			  "a sum of more than %ld terms (the expression size limit): "
			  "--max-terms N raises it",
			  lim);
		return NULL;
	}
	return depth_check(p, s);
}
