package sync

// reconciler is filled in with reconciliation; until then it does nothing.
type reconciler struct{ e *Engine }

func newReconciler(e *Engine) *reconciler { return &reconciler{e: e} }
func (r *reconciler) start(*wiring)       {}
func (r *reconciler) stop()               {}

func (r *reconciler) status() []ReconcileStatus { return []ReconcileStatus{} }
