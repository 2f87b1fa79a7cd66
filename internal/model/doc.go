// Package model is the fraud-scoring logistic regression behind the sample
// model server: its features, the synthetic data it is trained on
// (hack/train-model), the weights file it ships with, and its predictions.
package model
