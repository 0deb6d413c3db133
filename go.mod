module plateau

go 1.26
