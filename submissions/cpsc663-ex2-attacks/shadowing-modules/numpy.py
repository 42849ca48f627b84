raise RuntimeError("a shadowing numpy was imported")
