"""HTTP and command-line front ends over the ``index`` core."""
