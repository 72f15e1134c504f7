package experiment

func CheckMemory(e *Experiment) error { return nil }
