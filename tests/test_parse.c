/* test_parse.c - the matcalc language: syntax trees, printed forms and syntax errors of SPEC §2. */
#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "testlib.h"

/* ---- helpers ---- */

static const char *const sop_names[] = {"add",	"sub",	"neg", "mul", "div",  "had",  "ediv",
					"kron", "T",	"inv", "invT", "pow", "epow", "ldiv"};

/* The syntax tree as an S-expression: (op kids...), names and numbers bare. */
static void dump(struct sbuf *b, const struct syn *n)
{
	switch (n->kind) {
	case SYN_IDENT:
		sbuf_add(b, n->name);
		return;
	case SYN_NUM:
		sbuf_printf(b, "%g", n->num);
		return;
	case SYN_MATRIX:
		sbuf_add(b, "[");
		for (long i = 0; i < n->vr; i++) {
			if (i)
				sbuf_add(b, ";");
			for (long j = 0; j < n->vc; j++)
				sbuf_printf(b, "%s%g", j ? " " : "", n->vals[j * n->vr + i]);
		}
		sbuf_add(b, "]");
		return;
	case SYN_CALL:
		sbuf_printf(b, "(%s", n->name);
		break;
	case SYN_OP:
		sbuf_printf(b, "(%s", n->op >= 0 && n->op <= SOP_LDIV ? sop_names[n->op] : "?");
		break;
	case SYN_NORM:
		sbuf_add(b, n->sub == 2 ? "(norm2" : n->sub == 'F' ? "(normF" : "(norm");
		break;
	case SYN_NABLA:
		sbuf_add(b, "(nabla");
		break;
	case SYN_BARS:
		sbuf_add(b, "(bars");
		break;
	case SYN_EQ:
		sbuf_add(b, "(=");
		break;
	case STMT_EXPR:
		dump(b, n->kids[0]);
		return;
	case STMT_ASSIGN:
		sbuf_add(b, "(:=");
		break;
	case STMT_LET:
		sbuf_add(b, "(let");
		for (int i = 0; i < n->n; i++)
			sbuf_printf(b, " %s", n->kids[i]->name);
		sbuf_add(b, " :");
		for (int i = 0; i < n->ntype; i++) {
			sbuf_add(b, " ");
			dump(b, n->tkids[i]);
		}
		sbuf_add(b, ")");
		return;
	default:
		sbuf_printf(b, "(kind%d", (int)n->kind);
		break;
	}
	for (int i = 0; i < n->n; i++) {
		sbuf_add(b, " ");
		dump(b, n->kids[i]);
	}
	sbuf_add(b, ")");
}

/* Parses text; returns its statements dumped and joined by " ; ", or
 * "ERROR: msg" (owned). */
static char *parse_dump(const char *text)
{
	struct mc *mc = mc_new();
	struct parse p;
	struct sbuf b = {0};
	if (!parse_text(&p, mc, text, strlen(text), false)) {
		sbuf_printf(&b, "ERROR: %s", p.err ? p.err : "?");
	} else {
		for (int i = 0; i < p.nitems; i++) {
			if (i)
				sbuf_add(&b, " ; ");
			dump(&b, p.items[i]);
		}
	}
	parse_free(&p);
	mc_free(mc);
	return sbuf_take(&b);
}

/* ---- syntax trees: precedence, LaTeX tokens, statements ---- */

static const struct {
	const char *in, *tree;
} tree_cases[] = {
    /* names: ASCII Greek is the letter */
    {"theta", "θ"},
    {"Theta", "Θ"},
    {"Sigma", "Σ"},
    {"lambda_1", "λ_1"},
    {"theta2", "θ2"},
    {"thetas", "thetas"},
    {"x_1 + x_{1}", "(add x_1 x_1)"},
    {"a_{ij}", "a_ij"},
    {"\\theta_1 \\theta_{ij}", "(mul θ_1 θ_ij)"},
    {"\\mathbf{x}_i^\\top \\mathbf{x}_{i}", "(mul (T x_i) x_i)"},
    {"\\boldsymbol{\\theta}_1", "θ_1"},
    {"\\varepsilon + \\vartheta + \\varphi", "(add (add ε θ) φ)"},
    {"ϑ", "θ"},
    /* postfix binds tightest */
    {"X^T", "(T X)"},
    {"X'", "(T X)"},
    {"Xᵀ", "(T X)"},
    {"X^⊤", "(T X)"},
    {"X^T^T", "(T (T X))"},
    {"A^-1", "(inv A)"},
    {"A⁻¹", "(inv A)"},
    {"A^-T", "(invT A)"},
    {"A^-1^T", "(T (inv A))"},
    {"A^2", "(pow A 2)"},
    {"A^-2", "(pow A -2)"},
    {"A^-12", "(pow A -12)"},
    {"a^(b + 1)", "(pow a (add b 1))"},
    {"a^{b}", "(pow a b)"},
    {"a^b^c", "(pow (pow a b) c)"},
    {"-x^T", "(neg (T x))"},
    {"-x^2", "(neg (pow x 2))"},
    {"(-x)^2", "(pow (neg x) 2)"},
    /* unary binds tighter than products, products tighter than sums */
    {"- -x", "(neg (neg x))"},
    {"+x", "x"},
    {"-2 x", "(mul (neg 2) x)"},
    {"x + y z", "(add x (mul y z))"},
    {"x - y - z", "(sub (sub x y) z)"},
    {"x - (y - z)", "(sub x (sub y z))"},
    {"x + -y", "(add x (neg y))"},
    {"a b^T c", "(mul (mul a (T b)) c)"},
    {"X X^T Θ", "(mul (mul X (T X)) Θ)"},
    {"2 X", "(mul 2 X)"},
    {"2X", "(mul 2 X)"},
    {"X * Y", "(mul X Y)"},
    {"X / 2", "(div X 2)"},
    {"a / b c", "(mul (div a b) c)"},
    {"A .* B", "(had A B)"},
    {"A ⊙ B", "(had A B)"},
    {"A ∘ B", "(had A B)"},
    {"A \\odot B", "(had A B)"},
    {"A \\circ B", "(had A B)"},
    {"x ./ y", "(ediv x y)"},
    {"x ⊘ y", "(ediv x y)"},
    {"x \\oslash y", "(ediv x y)"},
    {"A ⊗ B", "(kron A B)"},
    {"A \\otimes B", "(kron A B)"},
    {"a \\cdot b", "(mul a b)"},
    {"a · b", "(mul a b)"},
    {"a × b", "(mul a b)"},
    {"a − b", "(sub a b)"},
    {"x ⊙ (X θ)", "(had x (mul X θ))"},
    {"A ⊗ B ⊗ C", "(kron (kron A B) C)"},
    {"1 + exp(-y ⊙ (X θ))", "(add 1 (exp (had (neg y) (mul X θ))))"},
    {"λ I", "(mul λ I)"},
    /* functions */
    {"tr(A)", "(tr A)"},
    {"trace(A) + Tr(A)", "(add (trace A) (Tr A))"},
    {"tr (A)", "(tr A)"},
    {"det(A) logdet(A)", "(mul (det A) (logdet A))"},
    {"inv(A)", "(inv A)"},
    {"diag(x)", "(diag x)"},
    {"sum(x) + vec(X)", "(add (sum x) (vec X))"},
    {"kron(A, B)", "(kron A B)"},
    {"exp(log(sin(cos(tan(tanh(x))))))", "(exp (log (sin (cos (tan (tanh x))))))"},
    {"sqrt(sigmoid(softplus(abs(sign(relu(x))))))",
     "(sqrt (sigmoid (softplus (abs (sign (relu x))))))"},
    {"ones(n, 1) + zeros(n, 1)", "(add (ones n 1) (zeros n 1))"},
    {"eye(3)", "(eye 3)"},
    {"f()", "(f)"},
    {"X(A + B)", "(X (add A B))"},
    {"X(A + B) C", "(mul (mul X (add A B)) C)"},
    {"X(A + B)^T", "(mul X (T (add A B)))"},
    {"X (A + B)", "(mul X (add A B))"},
    {"\\operatorname{tr}(A)", "(tr A)"},
    {"\\mathrm{tr}(A)", "(tr A)"},
    {"\\text{tr}(A)", "(tr A)"},
    {"\\operatorname{diag}(x)", "(diag x)"},
    {"\\det(A)", "(det A)"},
    {"\\log(x)", "(log x)"},
    {"\\log\\det(A)", "(logdet A)"},
    {"\\log \\det(A)", "(logdet A)"},
    {"\\exp(x)", "(exp x)"},
    {"\\ln(x)", "(ln x)"},
    /* norms */
    {"||x||", "(norm x)"},
    {"‖x‖", "(norm x)"},
    {"||x||_2", "(norm2 x)"},
    {"||X||_F", "(normF X)"},
    {"||x||^2", "(pow (norm x) 2)"},
    {"||x||_2^2", "(pow (norm2 x) 2)"},
    {"||X||_F^2", "(pow (normF X) 2)"},
    {"||y - X θ||^2", "(pow (norm (sub y (mul X θ))) 2)"},
    {"||x|| ||y||", "(mul (norm x) (norm y))"},
    {"||(||x|| y)||", "(norm (mul (norm x) y))"},
    {"\\|x\\|_{2}^{2}", "(pow (norm2 x) 2)"},
    {"\\|X\\|_{F}", "(normF X)"},
    {"\\left\\| x \\right\\|", "(norm x)"},
    {"\\lVert x \\rVert", "(norm x)"},
    {"\\Vert x \\Vert", "(norm x)"},
    /* LaTeX markup */
    {"\\mathbf{X}\\boldsymbol{\\theta}", "(mul X θ)"},
    {"\\boldsymbol\\theta", "θ"},
    {"\\bm{x} + \\vec{y}", "(add x y)"},
    {"\\mathbf{X}^\\top", "(T X)"},
    {"\\mathbf{X}^{\\top}", "(T X)"},
    {"X^{ \\top }", "(T X)"},
    {"X^{T}", "(T X)"},
    {"X^\\intercal", "(T X)"},
    {"X^{\\mathsf{T}}", "(T X)"},
    {"X^{\\mathrm{T}}", "(T X)"},
    {"X^{-1}", "(inv X)"},
    {"X^{ - 1 }", "(inv X)"},
    {"X^{-\\top}", "(invT X)"},
    {"X^{-T}", "(invT X)"},
    {"\\left( A + B \\right)^{-1}", "(inv (add A B))"},
    {"\\left[ A + B \\right] C", "(mul (add A B) C)"},
    {"\\bigl( x \\bigr)", "x"},
    {"{A + B} C", "(mul (add A B) C)"},
    {"x \\quad + \\, y \\; - \\! z", "(sub (add x y) z)"},
    {"\\displaystyle x", "x"},
    {"\\Theta^\\top \\Sigma^{-1}", "(mul (T Θ) (inv Σ))"},
    {"\\nabla_{X} f", "(nabla X f)"},
    {"\\nabla_X f", "(nabla X f)"},
    {"\\nabla_{\\boldsymbol{\\theta}} f(\\boldsymbol{\\theta})", "(nabla θ (mul f θ))"},
    {"∇_θ f", "(nabla θ f)"},
    {"∇_θ x + y", "(add (nabla θ x) y)"},
    /* reading what people paste and type (issue 10): letters written
     * together in LaTeX are symbols, ^T before letters, NumPy and MATLAB */
    {"XAX^\\top", "(mul (mul X A) (T X))"},
    {"\\mathbf{WH}", "(mul W H)"},
    {"W_2\\tanh(W_1x)", "(mul W_2 (tanh (mul W_1 x)))"},
    {"\\mathbf{W}^{(1)} \\mathbf{x}_{i}", "(mul W_1 x_i)"},
    {"x^TAy", "(mul (mul (T x) A) y)"},
    {"X^TX", "(mul (T X) X)"},
    {"X^-TY", "(mul (invT X) Y)"},
    {"X.T @ y", "(mul (T X) y)"},
    {"x.^2 + x**2", "(add (epow x 2) (epow x 2))"},
    {"X \\ y", "(ldiv X y)"},
    {"½ x", "(mul 0.5 x)"},
    {"A² A⁻ᵀ", "(mul (pow A 2) (invT A))"},
    {"X⊤ y", "(mul (T X) y)"},
    {"\\frac{1}{2} x", "(mul (div 1 2) x)"},
    {"\\tfrac12 x", "(mul 0.5 x)"},
    {"\\sqrt{x^\\top x}", "(sqrt (mul (T x) x))"},
    {"\\det X + \\log\\det X", "(add (det X) (logdet X))"},
    {"|X| + \\log|\\Sigma|", "(add (bars X) (log (bars Σ)))"},
    {"\\langle A, B\\rangle", "(tr (mul (T A) B))"},
    {"\\|X\\|^2_F", "(pow (normF X) 2)"},
    {"\\lVert x \\rVert_2^2", "(pow (norm2 x) 2)"},
    {"\\mathbf{1}^\\top \\mathbf{x}", "(mul (T (ones)) x)"},
    {"\\mathbf{1}_n + \\mathbf{0}", "(add (ones n 1) (zeros))"},
    {"\\mathbf{I}_{3}", "(eye 3)"},
    {"\\operatorname{Tr}\\left[X\\right] + {\\rm Tr}(X)", "(add (Tr X) (Tr X))"},
    {"$x^\\top y$", "(mul (T x) y)"},
    {"\\[ x \\]", "x"},
    {"\\sigma(\\mathbf{X}\\mathbf{w})", "(σ (mul X w))"},
    {"\\mathrm{d}\\mathbf{X}", "dX"},
    {"\\boldsymbol{\\mathrm{x\\theta}}_{1}", "xθ_1"},
    {"1/2m", "ERROR: '/2m' reads two ways: divided by 2 m, or divided by 2 and then times m; "
	     "write /(2 m) or (.../2) m"},
    {"\\det X Y", "ERROR: 'det X Y' reads two ways: det(X Y) or det(X) Y; write the "
		   "parentheses you mean"},
    {"y ⊙ X w", "ERROR: 'y ⊙ X w' reads two ways: (y ⊙ X) w or y ⊙ (X w); write the "
		"parentheses you mean"},
    {"x_ij^\\top y", "ERROR: 'x_ij' reads two ways: in LaTeX a subscript is one character, so "
		     "this is x_i times j; write x_{ij} for one name, or x_i j for the product"},
    {"\\frac{\\partial f}{\\partial X}",
     "ERROR: derivative notation (\\frac{\\partial f}{\\partial X}) is not supported: write "
     "grad(f, X) or \\nabla_{X} f (jacobian(f, x) for a vector f)"},
    /* matrix literals */
    {"[1 2; 3 4]", "[1 2;3 4]"},
    {"[1, 2; 3, 4]", "[1 2;3 4]"},
    {"[1; 2; 3]", "[1;2;3]"},
    {"[1 -2]", "[1 -2]"},
    {"[1 - 2]", "[1 -2]"},
    {"[-1, - 2]", "[-1 -2]"},
    {"[1.5 2e3 .25]", "[1.5 2000 0.25]"},
    {"[1 2\n 3 4]", "[1 2;3 4]"},
    {"[\n 1 2 # a row\n 3 4\n]", "[1 2;3 4]"},
    {"[1 2;]", "[1 2]"},
    {"[1, 2,\n 3]", "[1 2 3]"},
    {"2 [1; 2]", "(mul 2 [1;2])"},
    /* statements, comments and separators */
    {"", ""},
    {"# nothing", ""},
    {";;\n;", ""},
    {"x # comment", "x"},
    {"x; y", "x ; y"},
    {"x\ny", "x ; y"},
    {"x;", "x"},
    {"(x\n + y)", "(add x y)"},
    {"tr(A\n)", "(tr A)"},
    {"let X : matrix(n, m)", "(let X : (matrix n m))"},
    {"let A : symmetric matrix(n, n)", "(let A : symmetric (matrix n n))"},
    {"let S : spd matrix(n, n)", "(let S : spd (matrix n n))"},
    {"let y, θ : vector(n)", "(let y θ : (vector n))"},
    {"let a, b, λ : scalar", "(let a b λ : scalar)"},
    {"let x : vector(3); x", "(let x : (vector 3)) ; x"},
    {"f = ||y - X θ||^2", "(:= f (pow (norm (sub y (mul X θ))) 2))"},
    {"f(θ) = θ^T A θ", "(:= (f θ) (mul (mul (T θ) A) θ))"},
    {"X = [1 2; 3 4]", "(:= X [1 2;3 4])"},
    {"X = randn(3, 2)", "(:= X (randn 3 2))"},
    {"grad(f, θ)", "(grad f θ)"},
    {"hess(f, θ)", "(hess f θ)"},
    {"jacobian(F, x)", "(jacobian F x)"},
    {"d(f)", "(d f)"},
    {"eval(e)", "(eval e)"},
    {"check(grad(f, Θ) = G)", "(check (= (grad f Θ) G))"},
    {"gradcheck(f, X)", "(gradcheck f X)"},
    {"solve(grad(f, Θ) = 0, Θ)", "(solve (= (grad f Θ) 0) Θ)"},
    {"factor(e)", "(factor e)"},
};

START_TEST(test_tree)
{
	char *got = parse_dump(tree_cases[_i].in);
	ck_assert_msg(strcmp(got, tree_cases[_i].tree) == 0, "%s\n  expected %s\n  got      %s",
		      tree_cases[_i].in, tree_cases[_i].tree, got);
	free(got);
}
END_TEST

/* ---- printed forms: parse, resolve, print; and the print parses back ---- */

/* Declared shapes for most cases; NULL setup: names by their initial only. */
#define DECLS                                                                                      \
	"let A, B, C : matrix(n, n); let S : symmetric matrix(n, n); "                             \
	"let X : matrix(n, m); let x, y, z : vector(n); let θ : vector(m); "                      \
	"let α, β, γ : scalar"

static const struct {
	const char *setup, *in, *out;
} print_cases[] = {
    /* the course slides, plain and LaTeX */
    {NULL, "y^T y - 2 y^T X θ + θ^T X^T X θ", "y^T y - 2 y^T X θ + θ^T X^T X θ"},
    {NULL,
     "\\mathbf{y}^\\top \\mathbf{y} - 2\\mathbf{y}^\\top \\mathbf{X}\\boldsymbol{\\theta} + "
     "\\boldsymbol{\\theta}^\\top \\mathbf{X}^\\top \\mathbf{X}\\boldsymbol{\\theta}",
     "y^T y - 2 y^T X θ + θ^T X^T X θ"},
    {NULL,
     "\\mathbf{y}^{\\top} \\mathbf{y} - 2\\mathbf{y}^{\\top} \\mathbf{X} \\theta + "
     "\\theta^{\\top} \\mathbf{X}^{\\top} \\mathbf{X} \\theta",
     "y^T y - 2 y^T X θ + θ^T X^T X θ"},
    {NULL, "||Y^T - X^T Θ||_F^2", "||Y^T - X^T Θ||_F^2"},
    {NULL, "\\|\\mathbf{Y}^{\\top} - \\mathbf{X}^{\\top} \\Theta\\|_F^2", "||Y^T - X^T Θ||_F^2"},
    {NULL, "tr(Θ^T X X^T Θ)", "tr(Θ^T X X^T Θ)"},
    {NULL, "\\text{tr}(\\Theta^{\\top} \\mathbf{X} \\mathbf{X}^{\\top} \\Theta)",
     "tr(Θ^T X X^T Θ)"},
    {NULL, "||y - X θ||^2", "||y - X θ||^2"},
    {NULL, "\\|\\mathbf{y} - \\mathbf{X}\\boldsymbol{\\theta}\\|_2^2", "||y - X θ||^2"},
    {NULL, "-2 X^T y + 2 X^T X θ", "-2 X^T y + 2 X^T X θ"},
    {NULL, "-2\\mathbf{X}^\\top \\mathbf{y} + 2\\mathbf{X}^\\top \\mathbf{X}\\boldsymbol{\\theta}",
     "-2 X^T y + 2 X^T X θ"},
    {NULL, "θ^T A θ", "θ^T A θ"},
    {NULL, "\\boldsymbol{\\theta}^\\top \\mathbf{A}\\boldsymbol{\\theta}", "θ^T A θ"},
    {NULL, "(\\mathbf{A} + \\mathbf{A}^\\top)\\boldsymbol{\\theta}", "(A + A^T) θ"},
    {NULL, "2\\mathbf{A}\\boldsymbol{\\theta}", "2 A θ"},
    {NULL, "\\mathbf{X}^\\top \\mathbf{X}", "X^T X"},
    /* ASCII and Unicode Greek are one symbol */
    {NULL, "theta^T Theta^T Sigma", "θ^T Θ^T Σ"},
    {NULL, "alpha x + beta y", "α x + β y"},
    {NULL, "\\alpha \\mathbf{x}", "α x"},
    {NULL, "θ - theta", "zeros(n_theta, 1)"},
    {NULL, "Θ + Theta", "2 Θ"},
    {NULL, "λ I", "λ I"},
    {NULL, "Σ^-1", "Σ^-1"},
    /* products, sums and minimal parentheses */
    {DECLS, "X X^T", "X X^T"},
    {DECLS, "X^T X θ", "X^T X θ"},
    {DECLS, "2 * X", "2 X"},
    {DECLS, "X / 2", "0.5 X"},
    {DECLS, "X θ / 2", "0.5 X θ"},
    {DECLS, "x / α", "α^-1 x"},
    {DECLS, "x + y z^T x", "x + y z^T x"},
    {DECLS, "(x + y) z^T x", "(x + y) z^T x"},
    {DECLS, "X (θ + θ)", "2 X θ"},
    {DECLS, "(A + B) C", "(A + B) C"},
    {DECLS, "A (B + C)", "A (B + C)"},
    {DECLS, "A (B C)", "A B C"},
    {DECLS, "(A B) C", "A B C"},
    {DECLS, "x^T A y", "x^T A y"},
    {DECLS, "(x^T y) z", "x^T y z"},
    {DECLS, "x^T y z^T x", "x^T y z^T x"},
    {DECLS, "α x - β y", "α x - β y"},
    {DECLS, "α (x - y)", "α (x - y)"},
    {DECLS, "-(x - y)", "-(x - y)"},
    {DECLS, "x - (y - z)", "x - (y - z)"},
    {DECLS, "x - (y + z)", "x - (y + z)"},
    {DECLS, "x - -y", "x + y"},
    {DECLS, "x + -y", "x - y"},
    {DECLS, "x + (-2) y", "x - 2 y"},
    {DECLS, "x - 2 (y + z)", "x - 2 (y + z)"},
    {DECLS, "(α - β) (γ - α)", "(α - β) (γ - α)"},
    {DECLS, "-α β", "-α β"},
    {DECLS, "2 * 3 x", "6 x"},
    {DECLS, "x + x + x", "3 x"},
    {DECLS, "2 x + 3 x - x", "4 x"},
    {DECLS, "x - x", "zeros(n, 1)"},
    {DECLS, "0 X", "0"},
    {DECLS, "X + 0", "X"},
    {DECLS, "1 / 2", "0.5"},
    {DECLS, "3 - 5", "-2"},
    {DECLS, "2^10", "1024"},
    {DECLS, "0.5 x", "0.5 x"},
    {DECLS, "1e-3 x", "0.001 x"},
    /* postfix operators */
    {DECLS, "-X^T", "-X^T"},
    {DECLS, "(-X)^T", "(-X)^T"},
    {DECLS, "(2 X)^T", "(2 X)^T"},
    {DECLS, "α X^T", "α X^T"},
    {DECLS, "(X + X)^T", "(2 X)^T"},
    {DECLS, "(A + B)^T", "(A + B)^T"},
    {DECLS, "(A B)^T", "(A B)^T"},
    {DECLS, "X'", "X^T"},
    {DECLS, "A^-1", "A^-1"},
    {DECLS, "inv(A)", "A^-1"},
    {DECLS, "A^(-1)", "A^-1"},
    {DECLS, "A^-T", "A^-T"},
    {DECLS, "(A^T)^-1", "A^-T"},
    {DECLS, "(A^-1)^T", "A^-1^T"},
    {DECLS, "(A B)^-1", "(A B)^-1"},
    {DECLS, "(A + B)^-1", "(A + B)^-1"},
    {DECLS, "\\left( \\mathbf{A} + \\mathbf{B} \\right)^{-1}", "(A + B)^-1"},
    {DECLS, "-A^-1", "-A^-1"},
    {DECLS, "(-A)^-1", "(-A)^-1"},
    {DECLS, "2 A^-1", "2 A^-1"},
    {DECLS, "A^3", "A^3"},
    {DECLS, "(A + B)^2", "(A + B)^2"},
    {DECLS, "α^2", "α^2"},
    {DECLS, "-α^2", "-α^2"},
    {DECLS, "(-α)^2", "(-α)^2"},
    {DECLS, "α^β", "α^β"},
    {DECLS, "α^(β + 1)", "α^(β + 1)"},
    {DECLS, "α^-2", "α^-2"},
    {DECLS, "(x^T x)^2", "(x^T x)^2"},
    /* elementwise products, Kronecker */
    {DECLS, "x ⊙ y", "x ⊙ y"},
    {DECLS, "x .* y", "x ⊙ y"},
    {DECLS, "x ∘ y ⊙ z", "x ⊙ y ⊙ z"},
    {DECLS, "(x + y) ⊙ z", "(x + y) ⊙ z"},
    {DECLS, "x ⊙ (y + z)", "x ⊙ (y + z)"},
    {DECLS, "-x ⊙ y", "-x ⊙ y"},
    {DECLS, "x ⊙ -y", "x ⊙ (-y)"},
    {DECLS, "x ⊙ (A y)", "x ⊙ (A y)"},
    {DECLS, "α ⊙ x", "α x"},
    {DECLS, "x ./ y", "x ./ y"},
    {DECLS, "x ./ 2", "0.5 x"},
    {DECLS, "2 ./ x", "2 ./ x"},
    {DECLS, "x ./ (y + z)", "x ./ (y + z)"},
    {DECLS, "x ./ y ./ z", "x ./ y ./ z"},
    {DECLS, "x ./ (y ./ z)", "x ./ (y ./ z)"},
    {DECLS, "A ⊗ B", "A ⊗ B"},
    {DECLS, "kron(A, B)", "A ⊗ B"},
    {DECLS, "A \\otimes B", "A ⊗ B"},
    {DECLS, "A ⊗ B ⊗ C", "A ⊗ B ⊗ C"},
    {DECLS, "A ⊗ (B ⊗ C)", "A ⊗ (B ⊗ C)"},
    {DECLS, "(A ⊗ B)^T", "(A ⊗ B)^T"},
    {DECLS, "-(A ⊗ B)", "-(A ⊗ B)"},
    /* functions */
    {DECLS, "tr(A)", "tr(A)"},
    {DECLS, "trace(A)", "tr(A)"},
    {DECLS, "Tr(A)", "tr(A)"},
    {DECLS, "\\operatorname{tr}(\\mathbf{A})", "tr(A)"},
    {DECLS, "\\mathrm{tr}(A^{-1})", "tr(A^-1)"},
    {DECLS, "tr(A)^2", "tr(A)^2"},
    {DECLS, "tr(X^T A X)", "tr(X^T A X)"},
    {DECLS, "det(A)", "det(A)"},
    {DECLS, "\\det(\\mathbf{A})", "det(A)"},
    {DECLS, "det(A)^-1", "det(A)^-1"},
    {DECLS, "logdet(A)", "logdet(A)"},
    {DECLS, "\\log\\det(A)", "logdet(A)"},
    {DECLS, "\\log(\\det(A))", "log(det(A))"},
    {DECLS, "diag(x)", "diag(x)"},
    {DECLS, "diag(A)", "diag(A)"},
    {DECLS, "diag(x) A", "diag(x) A"},
    {DECLS, "sum(x ⊙ y)", "sum(x ⊙ y)"},
    {DECLS, "vec(X)", "vec(X)"},
    {DECLS, "vec(X)^T vec(X)", "vec(X)^T vec(X)"},
    {DECLS, "exp(x) + log(x) + sin(x)", "exp(x) + log(x) + sin(x)"},
    {DECLS, "cos(x) ⊙ tan(x) ⊙ tanh(x)", "cos(x) ⊙ tan(x) ⊙ tanh(x)"},
    {DECLS, "sqrt(x) - sigmoid(x) - softplus(x)", "sqrt(x) - sigmoid(x) - softplus(x)"},
    {DECLS, "abs(x) + sign(x) + relu(x)", "abs(x) + sign(x) + relu(x)"},
    {DECLS, "ln(x)", "log(x)"},
    {DECLS, "\\exp(-α)", "exp(-α)"},
    {DECLS, "exp(α)^2", "exp(α)^2"},
    {DECLS, "sum(log(1 + exp(-y ⊙ (X θ))))", "sum(log(1 + exp(-y ⊙ (X θ))))"},
    {DECLS, "X^T (sigmoid(X θ) - y)", "X^T (sigmoid(X θ) - y)"},
    {DECLS, "ones(n, 1)", "ones(n, 1)"},
    {DECLS, "zeros(n, m)", "zeros(n, m)"},
    {DECLS, "eye(n)", "eye(n)"},
    {DECLS, "ones(3, 2)", "ones(3, 2)"},
    {DECLS, "eye(n) + A", "eye(n) + A"},
    {DECLS, "A + λ I", "A + λ I"},
    {DECLS, "x + 1", "x + 1"},
    {DECLS, "1 + x", "1 + x"},
    {DECLS, "x + α", "x + α"},
    {DECLS, "2 x + 3", "2 x + 3"},
    {DECLS, "x + ones(n, 1)", "x + 1"},
    /* norms */
    {DECLS, "||x||", "||x||"},
    {DECLS, "‖x‖", "||x||"},
    {DECLS, "||x||_2", "||x||"},
    {DECLS, "||x||_F", "||x||"},
    {DECLS, "||X||", "||X||_F"},
    {DECLS, "||X||_F^2", "||X||_F^2"},
    {DECLS, "‖X‖_F", "||X||_F"},
    {DECLS, "\\|X\\|_{F}^{2}", "||X||_F^2"},
    {DECLS, "\\left\\| x \\right\\|^2", "||x||^2"},
    {DECLS, "\\lVert x - y \\rVert", "||x - y||"},
    {DECLS, "||x||^2 + ||y||^2", "||x||^2 + ||y||^2"},
    {DECLS, "2 ||x||^2", "2 ||x||^2"},
    {DECLS, "-||x||^2", "-||x||^2"},
    {DECLS, "||x|| ||y||", "||x|| ||y||"},
    {DECLS, "||α x||", "||α x||"},
    /* matrix literals */
    {DECLS, "[1 2; 3 4]", "[1 2; 3 4]"},
    {DECLS, "[1; 2; 3]", "[1; 2; 3]"},
    {DECLS, "[1.5 -2]", "[1.5 -2]"},
    {DECLS, "[7]", "7"},
    {DECLS, "2 [1 2; 3 4]", "2 [1 2; 3 4]"},
    {DECLS, "[1 2; 3 4]^T", "[1 2; 3 4]^T"},
    /* operators on functions: parsed and shape-checked, worked out elsewhere */
    {DECLS, "grad(x^T A x, x)", "grad(x^T A x, x)"},
    {DECLS, "∇_x x^T A x", "grad(x^T A x, x)"},
    {DECLS, "\\nabla_{\\mathbf{x}} \\mathbf{x}^\\top \\mathbf{A} \\mathbf{x}", "grad(x^T A x, x)"},
    {DECLS, "hess(x^T A x, x)", "hess(x^T A x, x)"},
    {DECLS, "jacobian(A x, x)", "jacobian(A x, x)"},
    {DECLS, "d(x^T x)", "d(x^T x)"},
    {"let X : matrix(n, m); f = tr(X^T X)", "grad(f, X)", "grad(tr(X^T X), X)"},
    {"let θ : vector(n); f = θ^T θ", "\\nabla_{\\boldsymbol{\\theta}} f(\\boldsymbol{\\theta})",
     "grad(θ^T θ, θ)"},
    {"let θ : vector(n); f(θ) = θ^T θ", "∇_θ f(θ)", "grad(θ^T θ, θ)"},
};

/* Resolves in (after setup), checks its printed form, and that the form
 * parses back to the same node. */
static void check_print(const char *setup, const char *in, const char *out, bool ascii)
{
	struct tsession t;
	ts_open(&t);
	t.s->mc->ascii = ascii;
	if (setup)
		ck_assert_msg(ts_run(&t, setup), "setup: %s", t.err);
	char *err;
	struct expr *e = ts_resolve(&t, in, &err);
	ck_assert_msg(e != NULL, "%s: %s", in, err);
	char *got = print_str(t.s->mc, e, PRINT_PLAIN);
	ck_assert_msg(strcmp(got, out) == 0, "%s\n  expected %s\n  got      %s", in, out, got);
	struct expr *back = ts_resolve(&t, got, &err);
	ck_assert_msg(back == e, "%s does not parse back to itself (%s)", got, err ? err : "");
	free(got);
	ts_close(&t);
}

START_TEST(test_print)
{
	check_print(print_cases[_i].setup, print_cases[_i].in, print_cases[_i].out, false);
}
END_TEST

/* --ascii: Greek letters by name, and that form parses back too. */
static const struct {
	const char *in, *out;
} ascii_cases[] = {
    {"tr(Θ^T X X^T Θ)", "tr(Theta^T X X^T Theta)"},
    {"θ^T Σ^-1 θ", "theta^T Sigma^-1 theta"},
    {"λ x + μ_1", "lambda x + mu_1"},
    {"x ⊙ y", "x .* y"},
    {"A ⊗ B", "kron(A, B)"},
    {"A ⊗ B ⊗ C", "kron(kron(A, B), C)"},
    {"\\alpha \\mathbf{x} - \\varepsilon_2", "alpha x - epsilon_2"},
};

START_TEST(test_ascii)
{
	check_print(NULL, ascii_cases[_i].in, ascii_cases[_i].out, true);
}
END_TEST

/* ---- errors: the whole report, location and caret included ---- */

static const struct {
	const char *in, *err;
} error_cases[] = {
    {"\\sum_{i=1}^n \\sum_{j=1}^n a_{ij} \\theta_i \\theta_j",
     "matcalc: -e:1:1: error: index notation (\\sum) is not supported: write the expression "
     "with matrices and vectors, e.g. θ^T A θ for a double sum\n"
     "\\sum_{i=1}^n \\sum_{j=1}^n a_{ij} \\theta_i \\theta_j\n"
     "^"},
    {"\\nabla_{\\boldsymbol{\\theta}} \\sum_i \\theta_i",
     "matcalc: -e:1:30: error: index notation (\\sum) is not supported: write the expression "
     "with matrices and vectors, e.g. θ^T A θ for a double sum\n"
     "\\nabla_{\\boldsymbol{\\theta}} \\sum_i \\theta_i\n"
     "                             ^"},
    {"\\prod_i x", "matcalc: -e:1:1: error: index notation (\\prod) is not supported: write the "
		   "expression with matrices and vectors, e.g. θ^T A θ for a double sum\n"
		   "\\prod_i x\n"
		   "^"},
    {"\\partial f", "matcalc: -e:1:1: error: \\partial is not supported: write grad(f, X) or "
		    "\\nabla_{X} f\n\\partial f\n^"},
    {"x + \\foo", "matcalc: -e:1:5: error: unknown LaTeX command '\\foo'\nx + \\foo\n    ^"},
    {"tr(", "matcalc: -e:1:4: error: unexpected end of statement\ntr(\n   ^"},
    {"tr(A", "matcalc: -e:1:5: error: unexpected end of statement, expecting ')'\ntr(A\n    ^"},
    {"(x + y",
     "matcalc: -e:1:7: error: unexpected end of statement, expecting ')'\n(x + y\n      ^"},
    {"{x", "matcalc: -e:1:3: error: unexpected end of statement, expecting '}'\n{x\n  ^"},
    {"||x", "matcalc: -e:1:4: error: unexpected end of statement, expecting closing ||\n||x\n   ^"},
    {"x)", "matcalc: -e:1:2: error: unexpected ')'\nx)\n ^"},
    /* +, - and -> are read with the spaces around them: the caret is at the operator */
    {"let x :   + vector(n)", "matcalc: -e:1:11: error: unexpected '+', expecting name or "
			       "function name\nlet x :   + vector(n)\n          ^"},
    {"let x :  \u2212  matrix(n, n)", "matcalc: -e:1:10: error: unexpected '-', expecting name "
				   "or function name\nlet x :  \u2212  matrix(n, n)\n         ^"},
    {"x  ->  y", "matcalc: -e:1:4: error: unexpected ->\nx  ->  y\n   ^"},
    {"x^ -  + 2", "matcalc: -e:1:7: error: unexpected '+', expecting number\nx^ -  + 2\n      ^"},
    {"^", "matcalc: -e:1:1: error: unexpected ^\n^\n^"},
    {"x ^ ^", "matcalc: -e:1:5: error: unexpected ^\nx ^ ^\n    ^"},
    {"x + * y", "matcalc: -e:1:5: error: unexpected '*'\nx + * y\n    ^"},
    {"x = = y", "matcalc: -e:1:5: error: unexpected '='\nx = = y\n    ^"},
    {"x,y", "matcalc: -e:1:2: error: unexpected ','\nx,y\n ^"},
    {"let", "matcalc: -e:1:4: error: unexpected end of statement, expecting name\nlet\n   ^"},
    {"let x", "matcalc: -e:1:6: error: unexpected end of statement, expecting ':' or ','\n"
	      "let x\n     ^"},
    {"let x :", "matcalc: -e:1:8: error: unexpected end of statement, expecting name or "
		"function name\nlet x :\n       ^"},
    {"let : scalar", "matcalc: -e:1:5: error: unexpected ':', expecting name\nlet : scalar\n    ^"},
    {"[1 2", "matcalc: -e:1:5: error: unexpected end of statement, expecting ']'\n[1 2\n    ^"},
    {"[1 2;", "matcalc: -e:1:6: error: unexpected end of statement, expecting ']'\n"
	      "[1 2;\n     ^"},
    {"[1 2; ,", "matcalc: -e:1:7: error: unexpected ',', expecting number or '-' or ']'\n"
		"[1 2; ,\n      ^"},
    {"[]", "matcalc: -e:1:2: error: unexpected ']', expecting number or '-'\n[]\n ^"},
    {"[1 2; 3]", "matcalc: -e:1:7: error: row 2 has 1 entry, but row 1 has 2\n[1 2; 3]\n      ^"},
    {"[1; 2 3]", "matcalc: -e:1:5: error: row 2 has 2 entries, but row 1 has 1\n[1; 2 3]\n    ^"},
    {"[x]", "matcalc: -e:1:2: error: a matrix literal holds numbers only, like [1 2; 3 4]\n"
	    "[x]\n ^"},
    {"||x||_3", "matcalc: -e:1:7: error: only the 2-norm and the Frobenius norm (_F) are "
		"supported\n||x||_3\n      ^"},
    {"||x||_G", "matcalc: -e:1:7: error: a norm's subscript is 2 or F, not 'G'\n||x||_G\n      ^"},
    {"||x||_{1}", "matcalc: -e:1:8: error: the 1-norm is not supported: write it as "
		  "sum(abs(...))\n||x||_{1}\n       ^"},
    {"x ? y", "matcalc: -e:1:3: error: unexpected character '?'\nx ? y\n  ^"},
    {"x € y", "matcalc: -e:1:3: error: unexpected character '€'\nx € y\n  ^"},
    {"x \xff y", "matcalc: -e:1:3: error: invalid UTF-8 byte 0xFF\nx ? y\n  ^"},
    {"θθ\xce", "matcalc: -e:1:3: error: invalid UTF-8 byte 0xCE\nθθ?\n  ^"},
    {"x\x01", "matcalc: -e:1:2: error: unexpected control character 0x01\nx?\n ^"},
    {"x\x7f", "matcalc: -e:1:2: error: unexpected control character 0x7F\nx?\n ^"},
    {"x\n\ty +", "matcalc: -e:2:5: error: unexpected end of statement\n y +\n    ^"},
    {"A -> B", "matcalc: -e:1:3: error: unexpected ->\nA -> B\n  ^"},
};

START_TEST(test_error)
{
	bool ok;
	char *got = ts_eval(error_cases[_i].in, &ok);
	ck_assert_msg(!ok, "%s should fail", error_cases[_i].in);
	ck_assert_msg(strcmp(got, error_cases[_i].err) == 0, "%s\n--- expected\n%s\n--- got\n%s",
		      error_cases[_i].in, error_cases[_i].err, got);
	free(got);
}
END_TEST

/* Operators on functions check their shapes while the statement is read:
 * these fail before any differentiation is tried. */
static const struct {
	const char *in, *err;
} shape_cases[] = {
    {"let x : vector(n); f = 2 x; grad(f, x)",
     "grad needs a scalar function, but f is n×1: use jacobian(f, x)"},
    {"let X : matrix(n, m); grad(X, X)",
     "grad needs a scalar function, but X is n×m: use jacobian(X, X)"},
    {"let x : vector(n); ∇_x x",
     "grad needs a scalar function, but this is n×1: use jacobian(f, x)"},
    {"let x : vector(n); hess(x, x)",
     "hess needs a scalar function, but x is n×1: use jacobian(x, x)"},
    {"let x : vector(n); grad(x^T x)", "grad takes a function and a variable: grad(f, X)"},
    {"let x : vector(n); grad(x^T x, 2 x)",
     "grad needs a symbol to differentiate with respect to, not an expression"},
    {"let x : vector(n); f = x^T x; g = x; grad(f, g)",
     "cannot take grad with respect to g: it is defined as an expression; differentiate with "
     "respect to a symbol"},
    {"d(x, y, z)", "d takes an expression, and a variable if you want one: d(f) or d(f, X)"},
    {"tr(grad(x, x) = 1)", "an equation is only allowed inside check(...) and solve(...)"},
};

START_TEST(test_operator_shapes)
{
	bool ok;
	char *got = ts_eval(shape_cases[_i].in, &ok);
	ck_assert_msg(!ok, "%s should fail", shape_cases[_i].in);
	ck_assert_msg(strstr(got, shape_cases[_i].err) != NULL, "%s\n--- expected\n%s\n--- got\n%s",
		      shape_cases[_i].in, shape_cases[_i].err, got);
	free(got);
}
END_TEST

/* A well-typed gradient has the shape of its variable; the Hessian of a vector
 * variable is square. */
START_TEST(test_operator_result_shapes)
{
	static const struct {
		const char *in, *shape;
	} cases[] = {
	    {"grad(tr(X^T A X), X)", "n×m"},
	    {"∇_X tr(X^T A X)", "n×m"},
	    {"grad(x^T A x, x)", "n×1"},
	    {"hess(x^T A x, x)", "n×n"},
	    {"jacobian(A x, x)", "n×n"},
	    {"jacobian(X θ, θ)", "n×m"},
	    {"d(X θ)", "n×1"},
	};
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, DECLS));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *err;
		struct expr *e = ts_resolve(&t, cases[i].in, &err);
		ck_assert_msg(e != NULL, "%s: %s", cases[i].in, err);
		ck_assert_msg(e->flags & EF_HAS_OP, "%s: not marked as needing differentiation",
			      cases[i].in);
		char sh[64];
		expr_shape_str(t.s->mc, e, sh, sizeof sh);
		ck_assert_msg(strcmp(sh, cases[i].shape) == 0, "%s: shape %s, expected %s",
			      cases[i].in, sh, cases[i].shape);
	}
	ts_close(&t);
}
END_TEST

/* Statements that change the session and print nothing. */
START_TEST(test_statements_run)
{
	static const char *const ok_texts[] = {
	    "let X : matrix(n, m)\nlet A : symmetric matrix(n, n)\nlet S : spd matrix(n, n)\n"
	    "let y, θ : vector(n)\nlet a, b, λ : scalar",
	    "let S : symmetric matrix(n)",
	    "f = ||y - X θ||^2",
	    "f(θ) = θ^T A θ",
	    "# a comment\n\n;;",
	    "let x : vector(3); let x : scalar",
	};
	for (size_t i = 0; i < sizeof ok_texts / sizeof *ok_texts; i++) {
		bool ok;
		char *out = ts_eval(ok_texts[i], &ok);
		ck_assert_msg(ok, "%s: %s", ok_texts[i], out);
		ck_assert_msg(out[0] == '\0', "%s printed %s", ok_texts[i], out);
		free(out);
	}
}
END_TEST

/* A bare symbol prints itself; statements run in order, one result a line. */
START_TEST(test_statements_print)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"x", "x"},
	    {"theta", "θ"},
	    {"x; y", "x\ny"},
	    {"x\n\ny # two lines", "x\ny"},
	    {"let s : scalar; s", "s"},
	    {"f = X; f", "X"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bool ok;
		char *out = ts_eval(cases[i].in, &ok);
		ck_assert_msg(ok, "%s: %s", cases[i].in, out);
		ck_assert_msg(strcmp(out, cases[i].out) == 0, "%s: got %s, expected %s",
			      cases[i].in, out, cases[i].out);
		free(out);
	}
}
END_TEST

/* A statement stops at its first error, and the statements before it ran. */
START_TEST(test_error_keeps_session)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(!ts_run(&t, "let X : matrix(n, m)\nlet y : vector(n)\nX + y"));
	ck_assert_msg(strstr(t.err, "-e:3:1: error: cannot add X (n×m) and y (n×1)") != NULL, "%s",
		      t.err);
	ts_reset(&t);
	ck_assert(ts_run(&t, "X^T y"));
	ck_assert_str_eq(t.out, "X^T y\n");
	ts_close(&t);
}
END_TEST

/* A long sum is built in time and memory linear in its length
 * (docs/performance.md, Reading): the node memory a sum of 8,000 distinct
 * terms takes is about four times that of 2,000 terms, where building it
 * term by term with make_add (every partial sum interned: 4 N^2 bytes) took
 * sixteen times. Counted in bytes, not timed. Scalars, vectors, and groups
 * in parentheses, each in a fresh session. */
static size_t sum_bytes(const char *term, int n, int group)
{
	struct sbuf b = {0};
	for (int i = 0; i < n; i++) {
		if (i)
			sbuf_add(&b, i % group ? " + " : ") + (");
		else if (group < n)
			sbuf_add(&b, "(");
		sbuf_printf(&b, term, i);
	}
	if (group < n)
		sbuf_add(&b, ")");
	struct tsession t;
	ts_open(&t);
	size_t before = t.s->mc->lim.node_bytes;
	char *err;
	struct expr *e = ts_resolve(&t, b.s, &err);
	ck_assert_msg(e != NULL, "%.60s...: %s", b.s, err ? err : "");
	ck_assert_int_eq(e->op, OP_ADD);
	ck_assert_int_eq(e->nkids, n);
	size_t bytes = t.s->mc->lim.node_bytes - before;
	ts_close(&t);
	sbuf_free(&b);
	return bytes;
}

START_TEST(test_long_sum_linear)
{
	static const struct {
		const char *term;
		int group;
	} shapes[] = {{"α_%d", 1 << 30}, {"2 x_%d", 1 << 30}, {"α_%d^2", 40}};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		size_t small = sum_bytes(shapes[i].term, 2000, shapes[i].group);
		size_t large = sum_bytes(shapes[i].term, 8000, shapes[i].group);
		ck_assert_msg(large < 6 * small, "%s: 2000 terms %zu bytes, 8000 terms %zu bytes",
			      shapes[i].term, small, large);
	}
}
END_TEST

/* Reading a LaTeX word of several letters asks the session whether it is a
 * declared name (parse_text_names): asking adds no name to the session's
 * table (it did: every glued word, XAB, AB, WH, was interned). */
START_TEST(test_parse_asks_add_no_name)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "let rate : scalar"));
	static const char text[] =
	    "\\operatorname{tr}(XAB^\\top) + \\mathbf{WH}\\mathbf{x} + x^TAy + QRS + \\mathrm{rate}";
	size_t before = t.s->mc->nnames;
	struct parse p;
	bool ok = parse_text_names(&p, t.s->mc, text, strlen(text), false, session_knows_name, t.s);
	ck_assert_msg(ok, "%s", p.err ? p.err : "");
	ck_assert_uint_eq(t.s->mc->nnames, before);
	parse_free(&p);
	ts_close(&t);
}
END_TEST

/* The syntax tree of a long LaTeX formula (bench/bench_read's `norms`) takes
 * under 16 bytes per byte read: a node is 64 bytes (with 128-byte nodes it
 * took 34 bytes a byte). Counted, not timed. */
START_TEST(test_parse_memory)
{
	struct sbuf b = {0};
	for (int k = 0; b.len < 20000; k++) {
		sbuf_add(&b, k % 40 ? " + " : k ? "\\right) + \\left(" : "\\left(");
		if (k % 2)
			sbuf_printf(&b, "\\operatorname{tr}(XA_{%d}X^\\top)", k);
		else
			sbuf_printf(&b, "\\tfrac{1}{2}\\left\\|\\mathbf{W}_{%d}\\mathbf{x} - "
				       "\\mathbf{y}\\right\\|_2^2", k);
	}
	sbuf_add(&b, "\\right)");
	struct mc *mc = mc_new();
	struct parse p;
	bool ok = parse_text(&p, mc, b.s, b.len, false);
	ck_assert_msg(ok, "%s", p.err ? p.err : "");
	size_t bytes = parse_memory(&p);
	ck_assert_msg(bytes < 16 * b.len, "%zu bytes of syntax for %zu bytes read", bytes, b.len);
	parse_free(&p);
	mc_free(mc);
	sbuf_free(&b);
}
END_TEST

/* A text of 64 kB or more gets a first block of its own mapping, sized for
 * 16 bytes of tree per byte read (2 MB here); a sum of one-letter names needs
 * far more, so its tree runs on into the ordinary blocks. Every name must
 * read back in order. */
START_TEST(test_parse_long_text_blocks)
{
	struct sbuf b = {0};
	int ngroups = 0;
	for (; b.len < 80000; ngroups++) {
		sbuf_add(&b, ngroups ? "+(" : "(");
		for (char c = 'a'; c <= 'z'; c++)
			sbuf_printf(&b, "%s%c", c > 'a' ? "+" : "", c);
		sbuf_add(&b, ")");
	}
	struct mc *mc = mc_new();
	struct parse p;
	bool ok = parse_text(&p, mc, b.s, b.len, false);
	ck_assert_msg(ok, "%s", p.err ? p.err : "");
	ck_assert_int_gt(parse_memory(&p), 32 * b.len);
	ck_assert_int_eq(p.nitems, 1);
	const struct syn *s = p.items[0]->kids[0];
	for (int g = ngroups - 1; g >= 0; g--) {
		const struct syn *t = g ? s->kids[1] : s;
		ck_assert(t->grouped);
		ck_assert_int_eq(t->terms, 26);
		for (char c = 'z'; c >= 'a'; c--) {
			const struct syn *x = c > 'a' ? t->kids[1] : t;
			ck_assert_int_eq(x->kind, SYN_IDENT);
			ck_assert_int_eq(x->name[0], c);
			ck_assert_int_eq(x->name[1], '\0');
			ck_assert_int_eq(x->loc.first, (int)(g * 54 + 1 + 2 * (c - 'a')));
			if (c > 'a')
				t = t->kids[0];
		}
		if (g)
			s = s->kids[0];
	}
	parse_free(&p);
	mc_free(mc);
	sbuf_free(&b);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("language");
	tcase_add_loop_test(tc, test_tree, 0, (int)(sizeof tree_cases / sizeof *tree_cases));
	tcase_add_loop_test(tc, test_print, 0, (int)(sizeof print_cases / sizeof *print_cases));
	tcase_add_loop_test(tc, test_ascii, 0, (int)(sizeof ascii_cases / sizeof *ascii_cases));
	tcase_add_loop_test(tc, test_error, 0, (int)(sizeof error_cases / sizeof *error_cases));
	tcase_add_loop_test(tc, test_operator_shapes, 0,
			    (int)(sizeof shape_cases / sizeof *shape_cases));
	tcase_add_test(tc, test_operator_result_shapes);
	tcase_add_test(tc, test_statements_run);
	tcase_add_test(tc, test_statements_print);
	tcase_add_test(tc, test_error_keeps_session);
	tcase_add_test(tc, test_long_sum_linear);
	tcase_add_test(tc, test_parse_asks_add_no_name);
	tcase_add_test(tc, test_parse_memory);
	tcase_add_test(tc, test_parse_long_text_blocks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(parse_suite());
}
