raise RuntimeError("a shadowing autograder was imported")
