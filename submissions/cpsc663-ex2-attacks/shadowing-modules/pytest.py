raise RuntimeError("a shadowing pytest was imported")
