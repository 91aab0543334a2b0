/* carbonate.h — pH of water in a closed carbonate system with a strong base.
 *
 * Raw water is described by its pH and its alkalinity (mg/L as CaCO3), from
 * which the total inorganic carbon C_T follows. Adding a strong base (NaOH)
 * of concentration Cb raises the alkalinity by Cb (in eq/L); the pH is the
 * root of the charge balance
 *     C_T (a1 + 2 a2) + Kw/[H+] - [H+] = Alk0 + Cb
 * with a1, a2 the fractions of HCO3- and CO3-- at [H+]. Ideal solution (no
 * activity corrections), 25 degC constants by default.
 */
#ifndef SIM_CARBONATE_H
#define SIM_CARBONATE_H

struct carbonate {
    double k1, k2, kw;     /* dissociation constants */
    double ct;             /* total inorganic carbon, mol/L */
    double alk0;           /* raw-water alkalinity, eq/L */
    double base_molar;     /* kg/mol of the base (NaOH 0.039997) */
};

/* Sets the water from its pH and alkalinity (kg/m3 as CaCO3, i.e. g/L).
 * pk1, pk2, pkw: the system's constants (6.35, 10.33, 14.0 at 25 degC).
 * Returns 0, or -1 if the water is not physical (negative carbon). */
int carbonate_init(struct carbonate *w, double raw_ph, double alkalinity,
                   double pk1, double pk2, double pkw, double base_molar);

/* pH after adding base at `conc` kg/m3 (= g/L). `guess` is a starting pH
 * (e.g. the previous answer) or 0. */
double carbonate_ph(const struct carbonate *w, double conc, double guess);

#endif
