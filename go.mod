module github.com/bism-ml/bism

go 1.26.8
