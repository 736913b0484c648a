package ident

import "time"

// Resident identity card numbers (居民身份证号码, GB 11643-1999): 6 digits
// of region, 8 of birth date, 3 of sequence, 1 check character (0-9 or X).

var residentWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// ResidentIDCheckChar returns the GB 11643 check character of the first 17
// digits of a resident ID number, or false if they are not 17 digits.
func ResidentIDCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * residentWeights[i]
	}
	return "10X98765432"[sum%11], true
}

// ValidResidentID reports whether s is an 18-character resident ID number
// whose region starts with 1-8, whose birth date is a real date from 1800
// on, and whose check character matches (a lower-case x is accepted).
func ValidResidentID(s string) bool {
	if len(s) != 18 || s[0] < '1' || s[0] > '8' {
		return false
	}
	want, ok := ResidentIDCheckChar(s[:17])
	if !ok {
		return false
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if last != want {
		return false
	}
	d, err := time.Parse("20060102", s[6:14])
	return err == nil && d.Year() >= 1800 && d.Before(time.Now().AddDate(0, 0, 1))
}

// ValidMobile reports whether s is an 11-digit mainland mobile number
// (1[3-9] and nine digits).
func ValidMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 2; i < 11; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
