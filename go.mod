module github.com/payflow/payflow

go 1.26.8
