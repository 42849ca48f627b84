"""Answer key of ECE 4803 FunML HW 6 (Georgia Tech, Spring 2022): autoencoders on scikit-learn's digits."""
