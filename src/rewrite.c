/* rewrite.c - the rewrite engine. (Being written.) */
