package handlers

import (
	"io/fs"
	"net/http"
)

// filesOnly serves the files of an embedded tree and nothing else: a
// directory answers 404 instead of a listing of what is there.
type filesOnly struct{ fs http.FileSystem }

// staticFiles wraps f for gin's StaticFS.
func staticFiles(f fs.FS) http.FileSystem { return filesOnly{http.FS(f)} }

func (f filesOnly) Open(name string) (http.File, error) {
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil || st.IsDir() {
		_ = file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}
