/*
 * solve.h - a small dense linear system (internal).
 */
#ifndef VGMO_LIB_SOLVE_H
#define VGMO_LIB_SOLVE_H

#include <stdbool.h>

#define VGMO__SOLVE_MAX 10 /* unknowns at most */

/* Solves a x = b for the unknowns marked in `on` (the others are 0), of
 * the first k, by Gaussian elimination with partial pivoting. False when
 * singular (x is then unchanged). */
bool vgmo__solve(unsigned k, double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX],
                 const double *b, const bool *on, double *x);

/* The same with each unknown j marked in `on` kept at or above lo[j]
 * (NULL: 0): one found below its bound is fixed there and the rest
 * solved again, the furthest below first, at most k rounds; the others
 * are 0. `b` is used up. False when a system is singular (x is then
 * unchanged). */
bool vgmo__solve_bounded(unsigned k, double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX],
                         double *b, const bool *on, const double *lo,
                         double *x);

#endif
