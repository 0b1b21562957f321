//go:build !race

package hemnet

const raceEnabled = false
