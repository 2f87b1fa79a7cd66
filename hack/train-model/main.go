// Command train-model trains the sample model server's fraud-scoring logistic
// regression on synthetic data drawn with a fixed seed (internal/model), and
// writes its weights file. `make model-weights` runs it; the result is
// internal/model/weights.json, embedded in cmd/model-server.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/internal/model"
)

func main() {
	out := flag.String("out", "internal/model/weights.json", "Where to write the weights file.")
	cfg := model.DefaultTrainConfig
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "Seed of the training data.")
	flag.IntVar(&cfg.Samples, "samples", cfg.Samples, "Number of training examples.")
	flag.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "Gradient descent steps over the whole training set.")
	flag.Parse()

	w, err := model.Train(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "train-model:", err)
		os.Exit(1)
	}
	b, err := w.MarshalIndent()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644) //nolint:gosec // a file committed to the repository, read by everyone
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train-model:", err)
		os.Exit(1)
	}
	e := w.Evaluation
	fmt.Printf("wrote %s: accuracy %.4f, precision %.4f, recall %.4f on %d held-out examples (seed %d)\n",
		*out, e.Accuracy, e.Precision, e.Recall, e.Samples, e.Seed)
}
