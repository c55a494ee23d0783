/* rules.c - loading rule files. (Being written.) */
