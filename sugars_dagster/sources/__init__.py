"""Where market series come from: one interface, a real (akshare) and an offline (demo) source."""
