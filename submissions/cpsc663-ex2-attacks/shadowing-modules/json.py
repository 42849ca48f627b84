raise RuntimeError("a shadowing json was imported")
