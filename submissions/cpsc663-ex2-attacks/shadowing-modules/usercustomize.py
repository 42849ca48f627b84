raise RuntimeError("a usercustomize from the submission ran")
