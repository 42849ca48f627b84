raise RuntimeError("a shadowing torch was imported")
