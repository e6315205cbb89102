//! Python objects as the core's one-pass walk reads and makes them: a request `dict` is written
//! as protobuf bytes straight from its `str`, `int`, `float`, `bytes`, `list` and `dict` objects,
//! and a reply's bytes become a `dict` directly, with no `Value` tree in between (the core's
//! `mapping::Input` and `mapping::Output`).
//!
//! Each object's [`View`] is the meaning [`convert::from_py`] gives it, checked in the same order,
//! so the bytes are the same whichever way a message goes; an object without a view of its own
//! (a `datetime`, an `enum.Enum` member, a big `int`, `bytearray`…) sends its message
//! through `from_py` and the core's general path, which converts or refuses it as always.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::convert;
use crate::converters;
use crate::ocore::mapping::{Input, Native, Output, Scalar, View};
use crate::ocore::{Blocker, Value};

/// A Python object read by the core's writer.
#[derive(Clone)]
pub(crate) struct PyIn<'py>(pub(crate) Bound<'py, PyAny>);

impl Input for PyIn<'_> {
    type Error = PyErr;

    fn view(&self) -> View<'_> {
        let obj = &self.0;
        if obj.is_none() {
            return View::Null;
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return View::Bool(b.is_true());
        }
        if obj.is_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return View::Int(i);
            }
            return obj.extract::<u64>().map_or(View::Other, View::UInt);
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return View::Float(f.value());
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return crate::convert::utf8(s).map_or(View::Other, View::Str);
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return View::Bytes(b.as_bytes());
        }
        if obj.is_instance_of::<PyDict>() {
            return View::Map;
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            return View::List;
        }
        View::Other
    }

    fn items(&self) -> impl Iterator<Item = Self> + '_ {
        let list = self.0.cast::<PyList>().ok();
        let tuple = self.0.cast::<PyTuple>().ok();
        let tuple_items = tuple.into_iter().flat_map(|t| t.iter());
        list.into_iter()
            .flat_map(|l| l.iter())
            .chain(tuple_items)
            .map(PyIn)
    }

    fn entries(&self) -> impl Iterator<Item = (Self, Self)> + '_ {
        let dict = self.0.cast::<PyDict>().ok();
        dict.into_iter()
            .flat_map(|d| d.iter())
            .map(|(k, v)| (PyIn(k), PyIn(v)))
    }

    fn len_hint(&self) -> usize {
        self.0.cast::<PyDict>().map_or(0, |d| d.len())
    }

    fn to_value(&self) -> PyResult<Cow<'_, Value>> {
        convert::from_py(&self.0).map(Cow::Owned)
    }

    fn convert(&self, native: &Native) -> Result<Self, String> {
        converters::call(native, &self.0, true).map(PyIn)
    }
}

/// Makes Python objects for the core's reader.
pub(crate) struct PyOut<'py>(pub(crate) Python<'py>);

impl<'py> Output for PyOut<'py> {
    type Node = Bound<'py, PyAny>;
    type Error = PyErr;

    fn null(&mut self) -> Option<Self::Node> {
        Some(self.0.None().into_bound(self.0))
    }

    fn scalar(&mut self, s: Scalar<'_>) -> Option<Self::Node> {
        let py = self.0;
        Some(match s {
            Scalar::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
            Scalar::Int(i) => i.into_pyobject(py).ok()?.into_any(),
            Scalar::UInt(u) => u.into_pyobject(py).ok()?.into_any(),
            Scalar::BigInt(text) => py.get_type::<PyInt>().call1((text,)).ok()?,
            Scalar::Float(x) => PyFloat::new(py, x).into_any(),
            Scalar::Str(text) => PyString::new(py, text).into_any(),
            Scalar::Bytes(b) => PyBytes::new(py, b).into_any(),
        })
    }

    fn list(&mut self, items: Vec<Self::Node>) -> Option<Self::Node> {
        PyList::new(self.0, items).ok().map(Bound::into_any)
    }

    fn map(&mut self, entries: Vec<(Self::Node, Self::Node)>) -> Option<Self::Node> {
        let d = PyDict::new(self.0);
        for (k, v) in entries {
            d.set_item(k, v).ok()?;
        }
        Some(d.into_any())
    }

    fn message<'a>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'a str, Self::Node)>,
    ) -> Option<Self::Node> {
        let d = PyDict::new(self.0);
        for (name, v) in fields {
            d.set_item(PyString::new(self.0, name), v).ok()?;
        }
        Some(d.into_any())
    }

    fn value(&mut self, v: Value) -> PyResult<Self::Node> {
        convert::to_py(self.0, &v)
    }

    fn convert(&mut self, native: &Native, node: Self::Node) -> Result<Self::Node, String> {
        converters::call(native, &node, false)
    }
}

/// The blocker of a call made with Python objects: the GIL is held while the core walks them
/// and given up for the call itself (sending, waiting, reading).
pub(crate) struct WithoutGil<'py>(pub(crate) Python<'py>);

/// The call run without the GIL: the core's own code, which touches no Python object.
struct Detached<'a>(&'a mut dyn FnMut());

// SAFETY: `Detached` only carries the core's call (see `WithoutGil::unlocked`) to the same
// thread's `detach`, which runs it there; it holds no Python object.
#[allow(unsafe_code)]
unsafe impl Send for Detached<'_> {}

impl Detached<'_> {
    fn run(self) {
        (self.0)()
    }
}

impl Blocker for WithoutGil<'_> {
    fn block(&self, wait: &mut dyn FnMut()) {
        wait()
    }

    fn unlocked(&self, call: &mut dyn FnMut()) {
        let call = Detached(call);
        self.0.detach(move || call.run());
    }
}
