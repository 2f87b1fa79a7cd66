// Package sequential compares a candidate's error rate (or share of slow
// requests) with the stable version's with a test that may be looked at after every round: its chance
// of ever rolling back a version no worse than stable stays under
// 1 - confidence, however many times and whenever it is asked.
package sequential
