# bench/steal.sh: how much of the machine's CPU time the hypervisor took
# away while a bench ran (the steal column of /proc/stat). On a shared
# virtual machine the ratios a bench prints are only as steady as this.
#   steal_mark FILE    the counters now, into FILE
#   steal_share FILE   the percentage of all CPU time since the mark that
#                      was stolen ("?" where the kernel does not count it)
steal_mark() {
	head -n 1 /proc/stat >"$1" 2>/dev/null || : >"$1"
}
steal_share() {
	head -n 1 /proc/stat 2>/dev/null | awk '
	    NR == FNR { n = NF; for (i = 2; i <= 9; i++) a[i] = $i; next }
	    { t = 0; for (i = 2; i <= 9; i++) t += $i - a[i]
	      if (n < 9 || NF < 9 || t <= 0) print "?"
	      else printf "%.1f\n", 100 * ($9 - a[9]) / t }' "$1" -
}
