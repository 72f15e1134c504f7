module github.com/bism-ml/bism

go 1.26.8

require (
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	gopkg.in/yaml.v3 v3.0.1
)

require gonum.org/v1/gonum v0.17.0
