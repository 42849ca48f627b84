raise RuntimeError("a sitecustomize from the submission ran")
