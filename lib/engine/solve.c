/*
 * solve.c - a small linear system, for the least-squares fits of the cost
 * and timing models (solve.h).
 */
#include <math.h>

#include "solve.h"

bool vgmo__solve(unsigned k, double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX],
                 const double *b, const bool *on, double *x)
{
	double m[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX + 1];
	unsigned idx[VGMO__SOLVE_MAX], n = 0;

	for (unsigned j = 0; j < k; j++)
		if (on[j])
			idx[n++] = j;
	for (unsigned r = 0; r < n; r++) {
		for (unsigned s = 0; s < n; s++)
			m[r][s] = a[idx[r]][idx[s]];
		m[r][n] = b[idx[r]];
	}
	for (unsigned col = 0; col < n; col++) {
		unsigned piv = col;

		for (unsigned r = col + 1; r < n; r++)
			if (fabs(m[r][col]) > fabs(m[piv][col]))
				piv = r;
		if (!(fabs(m[piv][col]) > 1e-300))
			return false;
		if (piv != col)
			for (unsigned s = 0; s <= n; s++) {
				double t = m[col][s];

				m[col][s] = m[piv][s];
				m[piv][s] = t;
			}
		for (unsigned r = 0; r < n; r++) {
			double f;

			if (r == col)
				continue;
			f = m[r][col] / m[col][col];
			for (unsigned s = col; s <= n; s++)
				m[r][s] -= f * m[col][s];
		}
	}
	for (unsigned j = 0; j < k; j++)
		x[j] = 0;
	for (unsigned r = 0; r < n; r++)
		x[idx[r]] = m[r][n] / m[r][r];
	return true;
}

bool vgmo__solve_bounded(unsigned k, double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX],
                         double *b, const bool *on, const double *lo, double *x)
{
	double th[VGMO__SOLVE_MAX], bound[VGMO__SOLVE_MAX];
	bool loose[VGMO__SOLVE_MAX];

	for (unsigned j = 0; j < k; j++) {
		loose[j] = on[j];
		bound[j] = lo ? lo[j] : 0;
	}
	for (unsigned round = 0; round < k; round++) {
		unsigned worst = k;

		if (!vgmo__solve(k, a, b, loose, th))
			return false;
		for (unsigned j = 0; j < k; j++)
			if (loose[j] && th[j] < bound[j] &&
			    (worst == k ||
			     th[j] - bound[j] < th[worst] - bound[worst]))
				worst = j;
		if (worst == k)
			break;
		loose[worst] = false; /* fixed at its bound: */
		for (unsigned i = 0; i < k; i++)
			b[i] -= a[i][worst] * bound[worst];
	}
	for (unsigned j = 0; j < k; j++)
		x[j] = loose[j] && th[j] > bound[j] ? th[j]
		       : on[j]                      ? bound[j]
		                                    : 0;
	return true;
}
