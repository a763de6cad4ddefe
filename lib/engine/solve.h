/*
 * solve.h - a small dense linear system (internal).
 */
#ifndef VGMO_LIB_SOLVE_H
#define VGMO_LIB_SOLVE_H

#include <stdbool.h>

#define VGMO__SOLVE_MAX 7 /* unknowns at most */

/* Solves a x = b for the unknowns marked in `on` (the others are 0), of
 * the first k, by Gaussian elimination with partial pivoting. False when
 * singular (x is then unchanged). */
bool vgmo__solve(unsigned k, double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX],
                 const double *b, const bool *on, double *x);

#endif
